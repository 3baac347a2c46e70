-- One row per customer: the profile from the latest valid record (greatest
-- batch id, then last line within the batch; batch ids sort in delivery
-- order), with where the customer was first and last seen.
-- Incremental per customer: recomputes the customers with records ingested
-- since the last run, from all their records; refreshed_at says when.
{{ config(
    materialized=incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    post_hook="{{ delete_customers_missing_from(ref('int_customer_records_validated'), 'is_valid') }}",
) }}

with

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

valid_records as (
    select * from int_customer_records_validated
    where
        is_valid
    {% if is_incremental() %}
        and customer_id in (
            {{ customers_refreshed_since_last_run('int_customer_records_validated', 'ingested_at') }}
        )
    {% endif %}
),

records_ranked as (
    select
        *,
        row_number() over (
            partition by customer_id order by batch_id desc, line_number desc
        ) as recency_rank,
        min(batch_id) over (partition by customer_id) as first_batch_id,
        count(*) over (partition by customer_id) as n_records
    from valid_records
),

final as (
    select
        customer_id,
        email,
        first_batch_id,
        batch_id as latest_batch_id,
        line_number as latest_line_number,
        n_records,
        created_at,
        ingested_at,
        {{ run_started_at_utc() }} as refreshed_at
    from records_ranked
    where recency_rank = 1
)

select * from final
