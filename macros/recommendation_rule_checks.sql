{#
    The business rules a recommendation candidate must pass, in the order of
    the seed recommendation_rules (a singular test checks the two agree): each
    rule's id and the condition under which a candidate breaks it, over the
    narrow candidate facts (candidate_facts) joined to the current catalog
    (int_products_current). The one list of the rules: the check
    (int_recommendation_candidates_checked), the count of rejections per rule
    (dim_customers) and the order test all read it.
#}
{% macro recommendation_rule_checks() -%}
    {{ return([
        {'rule_id': 'in_stock', 'broken_when': 'int_products_current.product_id is null or not int_products_current.is_in_stock'},
        {'rule_id': 'confidence_threshold', 'broken_when': 'candidate_facts.confidence < ' ~ checked_var('min_confidence', min_value=0, max_value=1)},
        {'rule_id': 'not_already_purchased', 'broken_when': 'candidate_facts.already_purchased'},
        {'rule_id': 'predicted_value_in_range', 'broken_when': 'candidate_facts.predicted_value is null or candidate_facts.predicted_value < ' ~ checked_var('predicted_value_min') ~ ' or candidate_facts.predicted_value > ' ~ checked_var('predicted_value_max')},
    ]) }}
{%- endmacro %}
