{#
    Why: a fingerprint of a set of rows is their texts joined in a fixed
    order; DuckDB orders inside string_agg, Spark with `within group`.
#}
{% macro string_agg_ordered(expr, separator, order_expr) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'holdfast')(expr, separator, order_expr)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expr, separator, order_expr) -%}
    string_agg(
                {{ expr }}, {{ separator }} order by {{ order_expr }}
            )
{%- endmacro %}

{% macro spark__string_agg_ordered(expr, separator, order_expr) -%}
    string_agg({{ expr }}, {{ separator }}) within group (order by {{ order_expr }})
{%- endmacro %}
