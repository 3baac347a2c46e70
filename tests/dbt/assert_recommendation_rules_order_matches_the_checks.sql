-- int_recommendation_candidates_checked lists a candidate's broken rules in
-- this order and takes the first as the rule that rejected it: the seed's
-- rule_order must say the same. Returns the rules that disagree.
with

recommendation_rules as (
    select * from {{ ref('recommendation_rules') }}
),

checked_order as (
    select
        1 as rule_order,
        'in_stock' as rule_id
    union all
    select
        2 as rule_order,
        'confidence_threshold' as rule_id
    union all
    select
        3 as rule_order,
        'not_already_purchased' as rule_id
    union all
    select
        4 as rule_order,
        'predicted_value_in_range' as rule_id
),

final as (
    select
        coalesce(recommendation_rules.rule_id, checked_order.rule_id) as rule_id,
        recommendation_rules.rule_order as seed_order,
        checked_order.rule_order as checked_order
    from recommendation_rules
    full outer join checked_order
        on recommendation_rules.rule_id = checked_order.rule_id
    where recommendation_rules.rule_order is distinct from checked_order.rule_order
)

select * from final
