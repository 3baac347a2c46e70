-- One row per customer that can be scored: their segment, what they already
-- bought, and a fingerprint of both. A view on purpose: it only feeds
-- int_recommendations_scored, which reads the rows whose fingerprint changed.
{{ config(materialized='view') }}

with

int_customers_segmented as (
    select * from {{ ref('int_customers_segmented') }}
),

int_customer_purchase_profiles as (
    select * from {{ ref('int_customer_purchase_profiles') }}
),

final as (
    select
        int_customer_purchase_profiles.customer_id,
        md5(
            int_customer_purchase_profiles.profile_fingerprint
            || '|' || coalesce(int_customers_segmented.segment_model_id, '-')
            || '|' || coalesce({{ to_text('int_customers_segmented.segment_id') }}, '-')
        ) as scoring_fingerprint,
        int_customers_segmented.segment_id,
        int_customers_segmented.segment_model_id,
        int_customer_purchase_profiles.product_ids as purchased_product_ids
    from int_customer_purchase_profiles
    left join int_customers_segmented
        on
            int_customer_purchase_profiles.customer_id = int_customers_segmented.customer_id
            and int_customers_segmented.status = 'ok'
)

select * from final
