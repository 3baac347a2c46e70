-- One row per delivered batch: input-quality signals and whether each breaches
-- its threshold: schema error rate (schema_error_rate_alert), record count
-- against the median of the previous 5 batches of the same source
-- (record_count_tolerance), and freshness (freshness_warn_after_hours): the
-- age of the batch file (its modification time) and of the newest record it
-- holds (customers: created_at or a purchase date). Staleness is judged on the
-- newest batch of each source only: an old batch is expected to be old.

{%- set freshness_hours = checked_var('freshness_warn_after_hours', min_value=0) %}

with

ops_batch_ledger as (
    select * from {{ ref('ops_batch_ledger') }}
),

stg_landing__customer_lines as (
    select * from {{ ref('stg_landing__customer_lines') }}
),

stg_landing__product_lines as (
    select * from {{ ref('stg_landing__product_lines') }}
),

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

file_times as (
    select
        'customers' as source,
        batch_id,
        max(file_modified_at) as file_modified_at
    from stg_landing__customer_lines
    group by batch_id
    union all
    select
        'products' as source,
        batch_id,
        max(file_modified_at) as file_modified_at
    from stg_landing__product_lines
    group by batch_id
),

purchase_times as (
    select
        batch_id,
        {{ unnest_list('purchases', field='purchased_at') }} as purchased_at
    from int_customer_records_validated
    where is_valid
),

record_times as (
    select
        'customers' as source,
        created_times.batch_id,
        greatest(
            created_times.newest_created_at, max(purchase_times.purchased_at)
        ) as newest_record_at
    from (
        select
            batch_id,
            max(created_at) as newest_created_at
        from int_customer_records_validated
        where is_valid
        group by batch_id
    ) as created_times
    left join purchase_times
        on created_times.batch_id = purchase_times.batch_id
    group by created_times.batch_id, created_times.newest_created_at
),

batches_in_order as (
    select
        ops_batch_ledger.*,
        file_times.file_modified_at,
        record_times.newest_record_at,
        {{ median_over_window('ops_batch_ledger.rows_in') }} over (
            partition by ops_batch_ledger.source order by ops_batch_ledger.batch_id
            rows between 5 preceding and 1 preceding
        ) as expected_rows,
        row_number() over (
            partition by ops_batch_ledger.source order by ops_batch_ledger.batch_id desc
        ) = 1 as is_latest_batch
    from ops_batch_ledger
    left join file_times
        on
            ops_batch_ledger.source = file_times.source
            and ops_batch_ledger.batch_id = file_times.batch_id
    left join record_times
        on
            ops_batch_ledger.source = record_times.source
            and ops_batch_ledger.batch_id = record_times.batch_id
    where ops_batch_ledger.status <> 'refused'
),

ages as (
    select
        *,
        round({{ date_diff_units('second', 'file_modified_at', 'now()') }} / 3600.0, 2) as file_age_hours,
        round({{ date_diff_units('second', 'newest_record_at', 'now()') }} / 3600.0, 2) as record_age_hours
    from batches_in_order
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
            when expected_rows > 0 then {{ round_double('(rows_in - expected_rows) / expected_rows', 6) }}
        end as count_deviation,
        round({{ date_diff_units('second', 'last_loaded_at', 'now()') }} / 3600.0, 2) as batch_age_hours,
        file_age_hours,
        record_age_hours,
        coalesce(
            error_rate > {{ checked_var('schema_error_rate_alert', min_value=0, max_value=1) }},
            false
        ) as is_error_rate_breached,
        coalesce(
            abs(rows_in - expected_rows) / nullif(expected_rows, 0)
            > {{ checked_var('record_count_tolerance', min_value=0) }},
            false
        ) as is_count_anomaly,
        is_latest_batch,
        coalesce(is_latest_batch and file_age_hours > {{ freshness_hours }}, false)
            as is_file_stale,
        coalesce(is_latest_batch and record_age_hours > {{ freshness_hours }}, false)
            as is_record_stale,
        file_modified_at,
        newest_record_at,
        last_loaded_at
    from ages
)

select * from final
