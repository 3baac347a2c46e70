-- One row per (customer, candidate product) the business rules rejected:
-- rule_id is the first rule broken (in recommendation_rules order), with its
-- reason; failed_rules lists every rule broken. A view, like
-- fct_recommendations: the checking model is incremental per customer.
{{ config(materialized='view') }}

with

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

final as (
    select
        customer_id,
        product_id,
        first_broken_rule_id as rule_id,
        candidate_rank as rank,
        segment_id,
        segment_model_id,
        run_id,
        recommender_version,
        first_broken_rule_reason as reason,
        failed_rules,
        confidence,
        predicted_value,
        generated_at
    from int_recommendation_candidates_checked
    where not passes_rules
)

select * from final
