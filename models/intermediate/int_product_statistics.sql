-- One row per product of the current catalog: how it sells. typical_spend is
-- the median amount of a purchase line of the product (its price when it was
-- never bought): the basis of a recommendation's predicted value.
-- n_recent_customers counts the distinct buyers in the popularity_recent_days
-- before the newest purchase in the data (0 days: all time): the popularity
-- prior of the recommender (recent sales predict next sales better).

with

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

recent_window as (
    select
        {{ checked_var('popularity_recent_days', min_value=0, max_value=36500) }} as recent_days,
        max(purchased_at) - to_days(recent_days::integer) as starts_after
    from int_purchases_deduplicated
),

purchases_flagged as (
    select
        int_purchases_deduplicated.product_id,
        int_purchases_deduplicated.customer_id,
        int_purchases_deduplicated.amount,
        int_purchases_deduplicated.purchased_at,
        recent_window.recent_days = 0
        or int_purchases_deduplicated.purchased_at > recent_window.starts_after as is_recent
    from int_purchases_deduplicated
    cross join recent_window
),

sales as (
    select
        product_id,
        count(*) as n_purchases,
        -- distinct buyers counted on a 64-bit hash of the id: a set of hashes
        -- per product fits in memory at 20 million purchases, one of uuids
        -- does not (collisions are negligible at this size)
        count(distinct hash(customer_id)) as n_customers,
        count(distinct hash(customer_id)) filter (where is_recent) as n_recent_customers,
        median(amount) as median_amount,
        max(purchased_at) as last_purchased_at
    from purchases_flagged
    group by product_id
),

final as (
    select
        int_products_current.product_id,
        coalesce(sales.n_purchases, 0) as n_purchases,
        coalesce(sales.n_customers, 0) as n_customers,
        coalesce(sales.n_recent_customers, 0) as n_recent_customers,
        round(coalesce(sales.median_amount, int_products_current.price), 2) as typical_spend,
        sales.last_purchased_at
    from int_products_current
    left join sales
        on int_products_current.product_id = sales.product_id
)

select * from final
