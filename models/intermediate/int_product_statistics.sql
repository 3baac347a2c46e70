-- One row per product of the current catalog: how it sells. typical_spend is
-- the median amount of a purchase line of the product (its price when it was
-- never bought): the basis of a recommendation's predicted value.
-- n_recent_customers counts the distinct buyers in the popularity_recent_days
-- before the newest purchase in the data (0 days: all time): the popularity
-- prior of the recommender (recent sales predict next sales better).
--
-- Refresh policy: these are catalog-wide aggregates over every purchase (20M
-- rows at 2M customers), and a median cannot be updated per customer. A run
-- recomputes every product when the purchases rewritten since the last
-- computation reach product_statistics_refresh_share of all purchases (0: on
-- every run), when popularity_recent_days changed, or when
-- product_statistics_refresh is true; otherwise it computes only the products
-- that are new to the catalog (and never-bought products whose price
-- changed), so a small batch does not rescan the purchases. computed_at says
-- when a row was computed. The recommender reads these figures only when it
-- is fitted, and its refit threshold (recommender_refit_growth) is larger.
{{ config(
    materialized=incremental_by_key(),
    unique_key='product_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=true),
    post_hook="{{ delete_rows_missing_from('product_id', ref('int_products_current')) }}",
) }}

{#- the purchases (20M rows at 2M customers) are read straight from the table
    at each use: DuckDB materialises an import CTE that is read more than
    once, and did so for 20M rows on runs that compute nothing (8 s) -#}
{%- set purchases = ref('int_purchases_deduplicated') %}

with

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

settings as (
    select
        {{ checked_var('popularity_recent_days', min_value=0, max_value=36500) }} as recent_days,
        {{ checked_var('product_statistics_refresh_share', min_value=0, max_value=1) }}
            as refresh_share,
        {{ 'true' if var('product_statistics_refresh') in [true, 'true', 'True'] else 'false' }}
            as forced
),

{% if is_incremental() %}

previous as (
    select * from {{ this }}
),

refresh as (
    select
        settings.forced
        or coalesce((select max(previous.recent_days) from previous) != settings.recent_days, true)
        or (
            select count(*)
            from {{ purchases }} as int_purchases_deduplicated
            where refreshed_at > (select max(previous.computed_at) from previous)
        ) >= settings.refresh_share * (select count(*) from {{ purchases }})
        as everything
    from settings
),

{% endif %}

products_to_compute as (
    select int_products_current.product_id
    from int_products_current
    {% if is_incremental() -%}
        cross join refresh
        left join previous
            on int_products_current.product_id = previous.product_id
    where
        refresh.everything
        or previous.product_id is null
        or (
            previous.n_purchases = 0
            and previous.typical_spend != round(int_products_current.price, 2)
        )
    {%- endif %}
),

recent_window as (
    select {{ minus_days('max(int_purchases_deduplicated.purchased_at)', 'settings.recent_days::integer') }} as starts_after
    from {{ purchases }} as int_purchases_deduplicated
    cross join settings
    group by settings.recent_days
),

purchases_flagged as (
    select
        int_purchases_deduplicated.product_id,
        int_purchases_deduplicated.customer_id,
        int_purchases_deduplicated.amount,
        int_purchases_deduplicated.purchased_at,
        settings.recent_days = 0
        or int_purchases_deduplicated.purchased_at > recent_window.starts_after as is_recent
    from {{ purchases }} as int_purchases_deduplicated
    inner join products_to_compute
        on int_purchases_deduplicated.product_id = products_to_compute.product_id
    cross join recent_window
    cross join settings
),

-- distinct buyers: one row per (product, buyer) first, then counted per
-- product. Two count(distinct) aggregates per product over 20 million
-- purchases took 97 s at 2 million customers; this takes 9 s. Buyers are
-- keyed by a 64-bit hash of the id (collisions are negligible at this size).
buyers as (
    select
        product_id,
        {{ hash64('customer_id') }} as customer_key,
        bool_or(is_recent) as bought_recently
    from purchases_flagged
    group by product_id, {{ hash64('customer_id') }}
),

buyer_counts as (
    select
        product_id,
        count(*) as n_customers,
        count(*) filter (where bought_recently) as n_recent_customers
    from buyers
    group by product_id
),

sales as (
    select
        purchases_flagged.product_id,
        count(*) as n_purchases,
        {{ median_interpolated('purchases_flagged.amount') }} as median_amount,
        max(purchases_flagged.purchased_at) as last_purchased_at
    from purchases_flagged
    group by purchases_flagged.product_id
),

final as (
    select
        int_products_current.product_id,
        coalesce(sales.n_purchases, 0) as n_purchases,
        coalesce(buyer_counts.n_customers, 0) as n_customers,
        coalesce(buyer_counts.n_recent_customers, 0) as n_recent_customers,
        {{ round_double('coalesce(sales.median_amount, int_products_current.price)', 2) }} as typical_spend,
        sales.last_purchased_at,
        settings.recent_days,
        {{ run_started_at_utc() }} as computed_at
    from int_products_current
    inner join products_to_compute
        on int_products_current.product_id = products_to_compute.product_id
    cross join settings
    left join sales
        on int_products_current.product_id = sales.product_id
    left join buyer_counts
        on int_products_current.product_id = buyer_counts.product_id
)

select * from final
