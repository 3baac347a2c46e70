-- One row per delivered batch: input-quality signals and whether each breaches
-- its threshold: schema error rate (schema_error_rate_alert), record count
-- against the median of the previous 5 batches of the same source
-- (record_count_tolerance), and the batch's age (freshness_warn_after_hours).

with

ops_batch_ledger as (
    select * from {{ ref('ops_batch_ledger') }}
),

batches_in_order as (
    select
        *,
        median(rows_in) over (
            partition by source order by batch_id
            rows between 5 preceding and 1 preceding
        ) as expected_rows
    from ops_batch_ledger
    where status <> 'refused'
),

final as (
    select
        batch_key,
        batch_id,
        source,
        status,
        rows_in,
        rows_invalid,
        error_rate,
        expected_rows,
        case
            when expected_rows > 0 then round((rows_in - expected_rows) / expected_rows, 6)
        end as count_deviation,
        round(date_diff('second', last_loaded_at, now()) / 3600.0, 2) as batch_age_hours,
        coalesce(
            error_rate > {{ checked_var('schema_error_rate_alert', min_value=0, max_value=1) }},
            false
        ) as is_error_rate_breached,
        coalesce(
            abs(rows_in - expected_rows) / nullif(expected_rows, 0)
            > {{ checked_var('record_count_tolerance', min_value=0) }},
            false
        ) as is_count_anomaly,
        last_loaded_at
    from batches_in_order
)

select * from final
