-- One row per distinct purchase (customer, product, date, amount), with the
-- batch that first delivered it. A view: int_purchases_deduplicated is
-- incremental per customer, and copying it every run costs a full scan at scale.
{{ config(materialized='view') }}

with

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

final as (
    select
        purchase_id,
        customer_id,
        product_id,
        batch_id,
        amount,
        purchased_at,
        refreshed_at
    from int_purchases_deduplicated
)

select * from final
