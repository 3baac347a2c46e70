{#
    Why: "already purchased" asks whether a list holds a value; DuckDB spells
    it list_contains, Spark array_contains.
#}
{% macro list_contains(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('list_contains', 'holdfast')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__list_contains(list_expr, value_expr) -%}
    list_contains({{ list_expr }}, {{ value_expr }})
{%- endmacro %}

{% macro spark__list_contains(list_expr, value_expr) -%}
    array_contains({{ list_expr }}, {{ value_expr }})
{%- endmacro %}
