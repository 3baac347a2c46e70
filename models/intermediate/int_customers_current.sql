-- One row per customer: the profile from the latest valid record (greatest
-- batch id, then last line within the batch; batch ids sort in delivery
-- order), with where the customer was first and last seen.
-- Incremental per customer: recomputes, from all their records, the customers
-- with records ingested since the last run and the customers who had a record
-- in a batch ingested since (a re-delivered batch can withdraw a customer's
-- line, make it invalid, or withdraw the whole batch by being empty: batch_ids
-- lists the batches of each customer's valid records, and the batches ingested
-- since are read from staging, which keeps an empty file's marker row, so they
-- are found without reading every record); refreshed_at
-- says when. A row without batch_ids (written before the column existed) is
-- recomputed once.
{{ config(
    materialized=incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=true),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_customers_missing_from(ref('int_customer_records_validated'), 'is_valid') }}",
) }}

-- depends_on: {{ ref('stg_landing__customer_lines') }}

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
            union
            {{ customers_in_batches_ingested_since_last_run(ref('stg_landing__customer_lines')) }}
        )
    {% endif %}
),

customer_batches as (
    select
        customer_id,
        batch_id
    from valid_records
    group by customer_id, batch_id
),

customer_batch_lists as (
    select
        customer_id,
        {{ list_agg_ordered('batch_id', 'batch_id') }} as batch_ids
    from customer_batches
    group by customer_id
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
        records_ranked.customer_id,
        records_ranked.email,
        records_ranked.first_batch_id,
        records_ranked.batch_id as latest_batch_id,
        records_ranked.line_number as latest_line_number,
        records_ranked.n_records,
        records_ranked.created_at,
        records_ranked.ingested_at,
        {{ run_started_at_utc() }} as refreshed_at,
        customer_batch_lists.batch_ids
    from records_ranked
    inner join customer_batch_lists
        on records_ranked.customer_id = customer_batch_lists.customer_id
    where records_ranked.recency_rank = 1
)

select * from final
