-- One row per current customer: the products they bought with a weight (the
-- number of purchase lines), and a fingerprint of everything their taste
-- vector depends on (products, weights, and the text and model version of
-- each product's embedding). The vector is recomputed only when it changes.

with

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

int_products_embedded as (
    select * from {{ ref('int_products_embedded') }}
),

purchase_lines_per_product as (
    select
        customer_id,
        product_id,
        count(*) as n_lines
    from int_purchases_deduplicated
    group by customer_id, product_id
),

products_with_embedding as (
    select
        purchase_lines_per_product.customer_id,
        purchase_lines_per_product.product_id,
        purchase_lines_per_product.n_lines,
        int_products_embedded.text_hash || '@' || int_products_embedded.embedding_model_version
            as embedding_key
    from purchase_lines_per_product
    left join int_products_embedded
        on
            purchase_lines_per_product.product_id = int_products_embedded.product_id
            and int_products_embedded.status = 'ok'
),

profiles as (
    select
        customer_id,
        list(product_id order by product_id) as product_ids,
        list(n_lines::double order by product_id) as weights,
        string_agg(
            product_id || ':' || n_lines || ':' || coalesce(embedding_key, '-'), ','
            order by product_id
        ) as profile_text
    from products_with_embedding
    group by customer_id
),

final as (
    select
        int_customers_current.customer_id,
        coalesce(profiles.product_ids, []) as product_ids,
        coalesce(profiles.weights, []) as weights,
        md5(coalesce(profiles.profile_text, '')) as profile_fingerprint
    from int_customers_current
    left join profiles
        on int_customers_current.customer_id = profiles.customer_id
)

select * from final
