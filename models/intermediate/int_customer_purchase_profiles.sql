-- One row per current customer: the products they bought with a weight (the
-- number of purchase lines), their purchase summary, and a fingerprint of everything their taste
-- vector depends on (products, weights, and the text and model version of
-- each product's embedding). The vector is recomputed only when it changes.
-- Incremental per customer: recomputes customers whose purchases or profile
-- were refreshed since the last run, and the buyers of products re-embedded
-- since then. Run in pieces, one per hash bucket of customers
-- (materialization batched_incremental, planner in_customer_buckets), so
-- memory follows profile_bucket_customers; an incremental run sizes its
-- buckets by the customers it recomputes (the CTE customers_to_refresh). The
-- pieces are gathered in a table of the model's schema, not a temp table:
-- DuckDB keeps temp tables in memory.
{{ config(
    materialized=batched_incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=true),
    batch_planner='in_customer_buckets',
    batch_bound_var='profile_bucket_customers',
    batch_key='customer_id',
    batch_customers='int_customers_current',
    batch_rows_cte='customers_to_refresh',
    batch_scratch='table',
    post_hook=["{{ delete_customers_missing_from(ref('int_customers_current')) }}"],
) }}

{#- the inputs, each cut to the bucket's customers where it has them. The two
    big ones (2M customers, 20M purchases at 2M customers) are subqueries read
    at each use, not import CTEs: DuckDB materialises a CTE that is read more
    than once, and did so on runs that recompute nobody (5.6 s at 2M) -#}
{% set customers_current %}(
    select * from {{ ref('int_customers_current') }}
    where {{ batch_piece() }}
){% endset %}

{% set purchases %}(
    select * from {{ ref('int_purchases_deduplicated') }}
    where {{ batch_piece() }}
){% endset %}

with

int_products_embedded as (
    select * from {{ ref('int_products_embedded') }}
),

{% if is_incremental() %}
-- the customers an incremental run recomputes; in_customer_buckets sizes
-- the buckets by their number
customers_to_refresh as (
    {{ customers_refreshed_since_last_run(customers_current ~ ' as int_customers_current') }}
    union
    {{ customers_refreshed_since_last_run(purchases ~ ' as int_purchases_deduplicated') }}
    union
    select int_purchases_deduplicated.customer_id
    from {{ purchases }} as int_purchases_deduplicated
    inner join int_products_embedded
        on int_purchases_deduplicated.product_id = int_products_embedded.product_id
    where int_products_embedded.processed_at > (
        select coalesce(max(refreshed_at), {{ earliest_timestamp() }}) from {{ this }}
    )
),
{% endif %}

purchase_lines_per_product as (
    select
        customer_id,
        product_id,
        count(*) as n_lines,
        sum(amount) as amount,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at
    from {{ purchases }} as int_purchases_deduplicated
    {% if is_incremental() %}
        where customer_id in (select customers_to_refresh.customer_id from customers_to_refresh)
    {% endif %}
    group by customer_id, product_id
),

products_with_embedding as (
    select
        purchase_lines_per_product.customer_id,
        purchase_lines_per_product.product_id,
        purchase_lines_per_product.n_lines,
        purchase_lines_per_product.amount,
        purchase_lines_per_product.first_purchased_at,
        purchase_lines_per_product.last_purchased_at,
        int_products_embedded.text_hash || '@' || int_products_embedded.embedding_model_version
            as embedding_key
    from purchase_lines_per_product
    left join int_products_embedded
        on
            purchase_lines_per_product.product_id = int_products_embedded.product_id
            and int_products_embedded.status = 'ok'
),

-- one sorted list of structs per customer (sorted by product_id, unique per
-- customer): three aggregates ordered by product_id each sorted every group
-- again, 75% of the statement
profiles as (
    select
        customer_id,
        {{ list_of_sorted_structs({
            'product_id': 'product_id',
            'n_lines': 'n_lines',
            'embedding_key': 'embedding_key'
        }) }} as bought,
        sum(n_lines) as n_purchases,
        count(*) as n_products,
        sum(amount) as total_amount,
        min(first_purchased_at) as first_purchased_at,
        max(last_purchased_at) as last_purchased_at
    from products_with_embedding
    group by customer_id
),

final as (
    select
        int_customers_current.customer_id,
        -- (sqlfluff reads a lambda's parameter as a table: RF01 is off here)
        coalesce(  -- noqa: disable=RF01
            {{ list_transform('profiles.bought', 'entry', 'entry.product_id') }}, {{ empty_list() }}
        ) as product_ids,
        coalesce(
            {{ list_transform('profiles.bought', 'entry', 'entry.n_lines::double') }}, {{ empty_list() }}
        ) as weights,
        {%- set fingerprint_entry -%}
            entry.product_id || ':' || entry.n_lines || ':'
            || coalesce(entry.embedding_key, '-')
        {%- endset %}
        md5(coalesce({{ list_join(
            list_transform('profiles.bought', 'entry', fingerprint_entry | trim, multiline=true), "','"
        ) }}, '')) as profile_fingerprint,  -- noqa: enable=RF01
        coalesce(profiles.n_purchases, 0) as n_purchases,
        coalesce(profiles.n_products, 0) as n_products,
        round(coalesce(profiles.total_amount, 0), 2) as total_amount,
        profiles.first_purchased_at,
        profiles.last_purchased_at,
        {{ run_started_at_utc() }} as refreshed_at
    from {{ customers_current }} as int_customers_current
    left join profiles
        on int_customers_current.customer_id = profiles.customer_id
    {% if is_incremental() %}
        where
            int_customers_current.customer_id in (
                select customers_to_refresh.customer_id from customers_to_refresh
            )
    {% endif %}
)

select * from final
