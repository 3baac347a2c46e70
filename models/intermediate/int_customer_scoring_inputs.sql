-- One row per customer that can be scored: taste vector, segment, what they
-- already bought, and a fingerprint of all of it plus the embedded catalog.
-- A view on purpose: it only feeds int_recommendations_scored, which reads
-- the rows whose fingerprint changed; a table would copy every vector.
{{ config(materialized='view') }}

with

int_customer_vectors as (
    select * from {{ ref('int_customer_vectors') }}
),

int_customers_segmented as (
    select * from {{ ref('int_customers_segmented') }}
),

int_customer_purchase_profiles as (
    select * from {{ ref('int_customer_purchase_profiles') }}
),

int_products_embedded as (
    select * from {{ ref('int_products_embedded') }}
),

catalog_fingerprint as (
    select
        md5(
            coalesce(
                string_agg(
                    product_id || ':' || text_hash || '@' || embedding_model_version, ','
                    order by product_id
                ),
                ''
            )
        ) as catalog_fingerprint
    from int_products_embedded
    where status = 'ok'
),

final as (
    select
        int_customer_vectors.customer_id,
        md5(
            int_customer_vectors.profile_fingerprint
            || '|' || int_customers_segmented.segment_model_id
            || '|' || int_customers_segmented.segment_id::varchar
            || '|' || catalog_fingerprint.catalog_fingerprint
        ) as scoring_fingerprint,
        int_customer_vectors.vector,
        int_customers_segmented.segment_id,
        int_customers_segmented.segment_model_id,
        int_customer_purchase_profiles.product_ids as purchased_product_ids
    from int_customer_vectors
    inner join int_customers_segmented
        on int_customer_vectors.customer_id = int_customers_segmented.customer_id
    inner join int_customer_purchase_profiles
        on int_customer_vectors.customer_id = int_customer_purchase_profiles.customer_id
    cross join catalog_fingerprint
    where
        int_customer_vectors.status = 'ok'
        and int_customers_segmented.status = 'ok'
)

select * from final
