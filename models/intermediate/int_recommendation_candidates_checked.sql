-- One row per recommendation candidate of the latest scoring of each customer,
-- with every business rule it breaks (empty list = passes). Rules are
-- evaluated against the current catalog and purchases, not the scorer's view.

with

int_recommendations_scored as (
    select * from {{ ref('int_recommendations_scored') }}
),

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

int_customer_vectors as (
    select * from {{ ref('int_customer_vectors') }}
),

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

candidates as (
    select
        customer_id,
        segment_id,
        segment_model_id,
        recommender_version,
        run_id,
        processed_at as generated_at,
        -- recursive unnest expands the struct fields into columns
        unnest(candidates, recursive := true)  -- noqa: AL03
    from int_recommendations_scored
    where
        status = 'ok'
        -- customers no longer in any batch are not recommended to
        and customer_id in (select int_customers_current.customer_id from int_customers_current)
),

purchased_products as (
    select distinct
        customer_id,
        product_id
    from int_purchases_deduplicated
),

candidates_checked as (
    select
        candidates.*,
        int_customer_vectors.embedding_model_version,
        {{ list_compact([
            "case when int_products_current.product_id is null or not int_products_current.is_in_stock then 'in_stock' end",
            "case when candidates.confidence < " ~ checked_var('min_confidence', min_value=0, max_value=1) ~ " then 'confidence_threshold' end",
            "case when purchased_products.product_id is not null then 'not_already_purchased' end",
            "case when candidates.predicted_value is null or candidates.predicted_value < " ~ checked_var('predicted_value_min') ~ " or candidates.predicted_value > " ~ checked_var('predicted_value_max') ~ " then 'predicted_value_in_range' end",
        ]) }} as failed_rules
    from candidates
    left join int_products_current
        on candidates.product_id = int_products_current.product_id
    left join purchased_products
        on
            candidates.customer_id = purchased_products.customer_id
            and candidates.product_id = purchased_products.product_id
    left join int_customer_vectors
        on candidates.customer_id = int_customer_vectors.customer_id
),

final as (
    select
        customer_id,
        product_id,
        segment_id,
        segment_model_id,
        embedding_model_version,
        recommender_version,
        run_id,
        candidate_rank,
        confidence,
        predicted_value,
        similarity,
        segment_affinity,
        popularity,
        failed_rules,
        len(failed_rules) = 0 as passes_rules,
        generated_at
    from candidates_checked
)

select * from final
