-- One row per distinct purchase: the union of every valid record's purchase
-- history, de-duplicated on (customer, product, date, amount). The batch that
-- first delivered a purchase (least batch_id) is kept as its source.
-- Incremental per customer: recomputes the customers int_customers_current
-- refreshed since this model's last run (those with new records and those a
-- re-delivered batch touched), from all their valid records.
{{ config(
    materialized=incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=false),
    post_hook="{{ delete_customers_missing_from(
        ref('int_customer_records_validated'), 'is_valid', held_by='int_customer_purchase_profiles'
    ) }}",
) }}

-- depends_on: {{ ref('int_customers_current') }}

with

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

purchases_unnested as (
    select
        customer_id,
        batch_id,
        line_number,
        -- recursive unnest expands the struct fields into columns
        {{ unnest_struct_list('purchases') }}  -- noqa: AL03
    from int_customer_records_validated
    where
        is_valid
    {% if is_incremental() %}
        and customer_id in (
            {{ customers_refreshed_since_last_run(ref('int_customers_current')) }}
        )
    {% endif %}
),

-- the first delivery of each purchase, by (batch_id, line_number): its batch
-- is the least batch_id among the deliveries (an aggregate: a window over 20
-- million purchases sorted them all)
purchases_first_delivered as (
    select
        customer_id,
        product_id,
        purchased_at,
        amount,
        min(batch_id) as batch_id
    from purchases_unnested
    group by customer_id, product_id, purchased_at, amount
),

final as (
    select
        md5(
            customer_id || '|' || product_id || '|' || {{ to_text(epoch_us('purchased_at')) }}
            || '|' || {{ to_text('amount') }}
        ) as purchase_id,
        customer_id,
        product_id,
        batch_id,
        amount,
        purchased_at,
        {{ run_started_at_utc() }} as refreshed_at
    from purchases_first_delivered
)

select * from final
