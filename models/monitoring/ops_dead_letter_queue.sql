-- One row per (step, record) that failed in an inference step: why, how many
-- runs in a row it failed (attempts), and its status: pending (the next run
-- retries it), exhausted (dead_letter_max_attempts reached; needs a person),
-- resolved (a later run succeeded). Incremental: history is kept.
{{ config(materialized=incremental_by_key(), unique_key='dead_letter_id', incremental_strategy=incremental_strategy_by_key(key_is_unique=true)) }}

with

step_rows as (
    {{ inference_step_rows() }}
),

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

failures as (
    select
        md5(step_rows.step || '|' || step_rows.record_key) as dead_letter_id,
        step_rows.record_key,
        step_rows.step,
        coalesce(int_customers_current.latest_batch_id, int_products_current.snapshot_id) as batch_id,
        step_rows.failure_reason as reason,
        {{ mask_emails('step_rows.error_message') }} as error,
        step_rows.failed_runs as attempts,
        step_rows.attempts as calls_in_last_run,
        step_rows.run_id as last_run_id,
        step_rows.processed_at as last_failed_at
    from step_rows
    left join int_customers_current
        on
            step_rows.step <> 'embed_products'
            and step_rows.record_key = int_customers_current.customer_id
    left join int_products_current
        on
            step_rows.step = 'embed_products'
            and step_rows.record_key = int_products_current.product_id
    where
        step_rows.status = 'failed'
        -- a record no longer in the input cannot be retried: it drops out
        -- here and so counts as resolved
        and coalesce(int_customers_current.customer_id, int_products_current.product_id) is not null
),

{% if is_incremental() %}
    previous as (
        select * from {{ this }}
    ),

    newly_resolved as (
        select
            {{ star_replace('previous', this, {
                'status': "'resolved'",
                'resolved_at': run_started_at_utc(),
            }) }}
        from previous
        left join failures
            on previous.dead_letter_id = failures.dead_letter_id
        where previous.status <> 'resolved' and failures.dead_letter_id is null
    ),
{% endif %}

failures_with_history as (
    select
        failures.dead_letter_id,
        failures.record_key,
        failures.step,
        failures.batch_id,
        failures.reason,
        failures.error,
        failures.attempts,
        failures.calls_in_last_run,
        case
            when failures.attempts >= {{ checked_var('dead_letter_max_attempts', min_value=1) }}
                then 'exhausted'
            else 'pending'
        end as status,
        failures.last_run_id,
        {% if is_incremental() %}
            coalesce(previous.first_failed_at, failures.last_failed_at)
        {% else %}
            failures.last_failed_at
        {% endif %} as first_failed_at,
        failures.last_failed_at,
        {{ null_timestamp() }} as resolved_at
    from failures
    {% if is_incremental() %}
        left join previous
            on failures.dead_letter_id = previous.dead_letter_id
        where
            previous.dead_letter_id is null
            or previous.last_failed_at <> failures.last_failed_at
            or previous.status = 'resolved'
            -- dead_letter_max_attempts may have changed since (or a requeue
            -- reset the attempts): the status follows the current setting
            or previous.attempts <> failures.attempts
            or previous.status <> case
                when failures.attempts >= {{ checked_var('dead_letter_max_attempts', min_value=1) }}
                    then 'exhausted'
                else 'pending'
            end
    {% endif %}
),

final as (
    select * from failures_with_history
    {% if is_incremental() %}
        {{ union_all_by_name() }}
        select * from newly_resolved
    {% endif %}
)

select * from final
