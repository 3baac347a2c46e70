{#
    Why: a fingerprint of a set of rows is their texts joined in a fixed
    order; DuckDB orders inside string_agg, Spark with `within group`.
    `multiline` (the default) lays DuckDB's call out on lines of its own.
#}
{% macro string_agg_ordered(expr, separator, order_expr, multiline=true) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'holdfast')(expr, separator, order_expr, multiline)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expr, separator, order_expr, multiline=true) -%}
    {%- if multiline -%}
        string_agg(
                {{ expr }}, {{ separator }} order by {{ order_expr }}
            )
    {%- else -%}
        string_agg({{ expr }}, {{ separator }} order by {{ order_expr }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__string_agg_ordered(expr, separator, order_expr, multiline=true) -%}
    string_agg({{ expr }}, {{ separator }}) within group (order by {{ order_expr }})
{%- endmacro %}
