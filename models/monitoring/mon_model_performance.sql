-- One row per run per inference step per metric (long form, so every metric
-- carries its thresholds and severity the same way):
--   latency_p50_ms / latency_p95_ms / latency_p99_ms  per-call latency over
--       the run's model-call batches (ops_inference_batches)
--   records, error_rate (failed / records; warning above
--       inference_error_rate_alert, critical above 0.5), max_batch_error_rate
--   confidence_psi, recommendation_category_psi (step recommend) and
--   segment_size_psi (step assign_segments): the shift against the previous
--       run (mon_distribution_shift; warning above psi_warning, critical
--       above psi_critical)
-- severity is ok, warning or critical (null when the metric has no threshold).

{%- set error_warning = checked_var('inference_error_rate_alert', min_value=0, max_value=1) %}
{%- set psi_warning = checked_var('psi_warning', min_value=0) %}
{%- set psi_critical = checked_var('psi_critical', min_value=0) %}

with

ops_inference_batches as (
    select * from {{ ref('ops_inference_batches') }}
),

mon_distribution_shift as (
    select * from {{ ref('mon_distribution_shift') }}
),

per_step as (
    select
        run_id,
        step,
        sum(n_records) as n_records,
        sum(n_failed) as n_failed,
        max(error_rate) as max_batch_error_rate,
        {{ percentile_cont('latency_ms', 0.5) }} as latency_p50_ms,
        {{ percentile_cont('latency_ms', 0.95) }} as latency_p95_ms,
        {{ percentile_cont('latency_ms', 0.99) }} as latency_p99_ms,
        max(processed_at) as measured_at
    from ops_inference_batches
    group by run_id, step
),

step_metrics as (
    {%- set step_columns -%}
        select
            run_id,
            step,
            measured_at,
            n_records::double as records,
            round(n_failed / n_records, 6) as error_rate,
            max_batch_error_rate::double as max_batch_error_rate,
            round(latency_p50_ms, 3) as latency_p50_ms,
            round(latency_p95_ms, 3) as latency_p95_ms,
            round(latency_p99_ms, 3) as latency_p99_ms
        from per_step
    {%- endset %}
    {{ unpivot_columns(
        step_columns | trim,
        ['records', 'error_rate', 'max_batch_error_rate', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'],
        'metric',
        'metric_value',
    ) }}
),

step_metrics_judged as (
    select
        run_id,
        step,
        metric,
        metric_value,
        case when metric = 'error_rate' then {{ error_warning }} end as warning_threshold,
        case when metric = 'error_rate' then 0.5 end as critical_threshold,
        measured_at
    from step_metrics
),

drift_metrics as (
    select
        run_id,
        case when distribution = 'segment_size' then 'assign_segments' else 'recommend' end
            as step,
        distribution || '_psi' as metric,
        psi as metric_value,
        {{ psi_warning }} as warning_threshold,
        {{ psi_critical }} as critical_threshold,
        measured_at
    from mon_distribution_shift
    where psi is not null
),

metrics as (
    select * from step_metrics_judged
    union all
    select * from drift_metrics
),

final as (
    select
        md5(run_id || '|' || step || '|' || metric) as performance_metric_id,
        run_id,
        step,
        metric,
        metric_value,
        warning_threshold,
        critical_threshold,
        case
            when warning_threshold is null then null
            when metric_value > critical_threshold then 'critical'
            when metric_value > warning_threshold then 'warning'
            else 'ok'
        end as severity,
        measured_at
    from metrics
)

select * from final
