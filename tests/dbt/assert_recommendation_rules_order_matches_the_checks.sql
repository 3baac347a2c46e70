-- int_recommendation_candidates_checked lists a candidate's broken rules in
-- the order of recommendation_rule_checks() and takes the first as the rule
-- that rejected it: the seed's rule_order must say the same. Returns the
-- rules that disagree.
with

recommendation_rules as (
    select * from {{ ref('recommendation_rules') }}
),

checked_order as (
    {%- for rule in recommendation_rule_checks() %}
        select
            {{ loop.index }} as rule_order,
            '{{ rule.rule_id }}' as rule_id
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
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
