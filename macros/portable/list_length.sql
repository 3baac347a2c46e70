{#
    Why: a record is valid when its list of errors is empty; the length of a
    list is spelled differently on each engine.
#}
{% macro list_length(list_expr) -%}
    {{ return(adapter.dispatch('list_length', 'holdfast')(list_expr)) }}
{%- endmacro %}

{% macro default__list_length(list_expr) -%}
    len({{ list_expr }})
{%- endmacro %}

{% macro spark__list_length(list_expr) -%}
    size({{ list_expr }})
{%- endmacro %}
