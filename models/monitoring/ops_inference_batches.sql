-- One row per model call batch of this run, per inference step: records in
-- the batch, how many failed, the call's latency and attempts. Appended each
-- run, so latency percentiles can be tracked across runs.
{{ config(materialized=incremental_by_key(), unique_key='inference_batch_id', incremental_strategy=incremental_strategy_by_key(key_is_unique=true)) }}

with

step_rows as (
    {{ inference_step_rows() }}
),

this_run as (
    select * from step_rows
    {% if is_incremental() %}
        where run_id = '{{ invocation_id }}'
    {% endif %}
),

final as (
    select
        md5(step || '|' || run_id || '|' || inference_batch_number) as inference_batch_id,
        step,
        run_id,
        inference_batch_number,
        count(*) as n_records,
        count(*) filter (where status = 'failed') as n_failed,
        max(batch_latency_ms) as latency_ms,
        max(batch_attempts) as attempts,
        round(count(*) filter (where status = 'failed') / count(*), 6) as error_rate,
        max(processed_at) as processed_at
    from this_run
    group by step, run_id, inference_batch_number
)

select * from final
