{#
    Why: a column of JSON text is typed JSON on DuckDB; Spark has no JSON
    type and keeps the text as a string.
#}
{% macro json_cast(expr) -%}
    {{ return(adapter.dispatch('json_cast', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__json_cast(expr) -%}
    {{ expr }}::json
{%- endmacro %}

{% macro spark__json_cast(expr) -%}
    {{ expr }}
{%- endmacro %}
