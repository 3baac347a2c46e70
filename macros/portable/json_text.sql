{#
    Why: most rules read a field as text (`->>` on DuckDB): strings unquoted,
    numbers as written, null when absent or JSON null.
#}
{% macro json_text(json_expr, path) -%}
    {{ return(adapter.dispatch('json_text', 'holdfast')(json_expr, path)) }}
{%- endmacro %}

{% macro default__json_text(json_expr, path) -%}
    {{ json_expr }} ->> '{{ path }}'
{%- endmacro %}

{% macro spark__json_text(json_expr, path) -%}
    try_variant_get({{ json_expr }}, '{{ path }}', 'string')
{%- endmacro %}
