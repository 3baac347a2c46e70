{#
    Why: fingerprints and messages join a list of texts with a separator;
    DuckDB spells it array_to_string, Spark array_join (both skip nulls).
#}
{% macro list_join(list_expr, separator) -%}
    {{ return(adapter.dispatch('list_join', 'holdfast')(list_expr, separator)) }}
{%- endmacro %}

{% macro default__list_join(list_expr, separator) -%}
    array_to_string({{ list_expr }}, {{ separator }})
{%- endmacro %}

{% macro spark__list_join(list_expr, separator) -%}
    array_join({{ list_expr }}, {{ separator }})
{%- endmacro %}
