{#
    Why: the lists from json_value_types() and json_texts() are read by
    position; DuckDB indexes lists from 1 with [], Spark arrays from 0.
    `position` is 1-based on every engine; null past the end.
#}
{% macro list_item(list_expr, position) -%}
    {{ return(adapter.dispatch('list_item', 'holdfast')(list_expr, position)) }}
{%- endmacro %}

{% macro default__list_item(list_expr, position) -%}
    {{ list_expr }}[{{ position }}]
{%- endmacro %}

{% macro spark__list_item(list_expr, position) -%}
    try_element_at({{ list_expr }}, {{ position }})
{%- endmacro %}
