-- One row per customer: the profile from the latest valid record (greatest
-- batch id, then last line within the batch; batch ids sort in delivery
-- order), with where the customer was first and last seen.

with

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

valid_records as (
    select * from int_customer_records_validated
    where is_valid
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
        ingested_at
    from records_ranked
    where recency_rank = 1
)

select * from final
