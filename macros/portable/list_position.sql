{#
    Why: a candidate's place among the passing candidates is the 1-based
    position of its rank in their list, null when it is not there: DuckDB's
    list_position (an integer); Spark's array_position answers a bigint, 0
    for "not there".
#}
{% macro list_position(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('list_position', 'holdfast')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__list_position(list_expr, value_expr) -%}
    list_position({{ list_expr }}, {{ value_expr }})
{%- endmacro %}

{% macro spark__list_position(list_expr, value_expr) -%}
    cast(nullif(array_position({{ list_expr }}, {{ value_expr }}), 0) as int)
{%- endmacro %}
