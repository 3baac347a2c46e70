-- One row per product of the current catalog (newest snapshot): attributes,
-- stock, sales and whether its text embedding is available.

with

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

int_product_statistics as (
    select * from {{ ref('int_product_statistics') }}
),

int_products_embedded as (
    select * from {{ ref('int_products_embedded') }}
),

final as (
    select
        int_products_current.product_id,
        int_products_current.snapshot_id,
        int_products_current.product_name,
        int_products_current.product_description,
        int_products_current.category,
        int_products_current.text_hash,
        int_products_embedded.embedding_model_version,
        int_products_current.price,
        int_products_current.stock_quantity,
        int_product_statistics.n_purchases,
        int_product_statistics.n_customers,
        int_product_statistics.typical_spend,
        int_products_current.is_in_stock,
        coalesce(
            int_products_embedded.status = 'ok'
            and int_products_embedded.text_hash = int_products_current.text_hash,
            false
        ) as has_embedding,
        int_product_statistics.last_purchased_at,
        int_products_current.ingested_at
    from int_products_current
    inner join int_product_statistics
        on int_products_current.product_id = int_product_statistics.product_id
    left join int_products_embedded
        on int_products_current.product_id = int_products_embedded.product_id
)

select * from final
