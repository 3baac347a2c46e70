-- One row per (customer, candidate product) the business rules rejected:
-- rule_id is the first rule broken (in recommendation_rules order), with its
-- reason; failed_rules lists every rule broken.

with

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

recommendation_rules as (
    select * from {{ ref('recommendation_rules') }}
),

rejected as (
    select *
    from int_recommendation_candidates_checked
    where not passes_rules
),

first_broken_rule as (
    select
        rejected.customer_id,
        rejected.product_id,
        recommendation_rules.rule_id,
        recommendation_rules.reason_when_broken as reason
    from rejected
    inner join recommendation_rules
        on list_contains(rejected.failed_rules, recommendation_rules.rule_id)
    qualify row_number() over (
        partition by rejected.customer_id, rejected.product_id
        order by recommendation_rules.rule_order
    ) = 1
),

final as (
    select
        rejected.customer_id,
        rejected.product_id,
        first_broken_rule.rule_id,
        rejected.candidate_rank as rank,
        rejected.segment_id,
        rejected.segment_model_id,
        rejected.run_id,
        rejected.embedding_model_version,
        rejected.recommender_version,
        first_broken_rule.reason,
        rejected.failed_rules,
        rejected.confidence,
        rejected.predicted_value,
        rejected.generated_at
    from rejected
    inner join first_broken_rule
        on
            rejected.customer_id = first_broken_rule.customer_id
            and rejected.product_id = first_broken_rule.product_id
)

select * from final
