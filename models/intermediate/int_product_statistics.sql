-- One row per product of the current catalog: how it sells. typical_spend is
-- the median amount of a purchase line of the product (its price when it was
-- never bought): the basis of a recommendation's predicted value.

with

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

sales as (
    select
        product_id,
        count(*) as n_purchases,
        count(distinct customer_id) as n_customers,
        median(amount) as median_amount,
        max(purchased_at) as last_purchased_at
    from int_purchases_deduplicated
    group by product_id
),

final as (
    select
        int_products_current.product_id,
        coalesce(sales.n_purchases, 0) as n_purchases,
        coalesce(sales.n_customers, 0) as n_customers,
        round(coalesce(sales.median_amount, int_products_current.price), 2) as typical_spend,
        sales.last_purchased_at
    from int_products_current
    left join sales
        on int_products_current.product_id = sales.product_id
)

select * from final
