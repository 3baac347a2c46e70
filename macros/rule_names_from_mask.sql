{#
    Why: the rule checks carry a candidate's broken rules as bits (bit i: the
    i-th of `rules`, each a dict with rule_id and the SQL condition
    broken_when) through their per-customer lists, which keeps them small at
    60 million candidates. rule_mask() sums the bits of the broken rules (a
    condition that is null breaks nothing); rule_names_from_mask() turns the
    bits back into the rules' ids, in the rules' order, as "id or null"
    expressions for list_compact().
#}
{% macro rule_mask(rules) -%}
    ({%- for rule in rules %}case when {{ rule.broken_when }} then {{ 2 ** loop.index0 }} else 0 end{{ " + " if not loop.last }}{% endfor -%})
{%- endmacro %}

{% macro rule_names_from_mask(mask_expr, rules) -%}
    {%- set names = [] -%}
    {%- for rule in rules -%}
        {%- do names.append("case when (" ~ mask_expr ~ " & " ~ 2 ** loop.index0 ~ ") <> 0 then '" ~ rule.rule_id ~ "' end") -%}
    {%- endfor -%}
    {%- do return(names) -%}
{%- endmacro %}
