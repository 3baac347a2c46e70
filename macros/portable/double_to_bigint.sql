{#
    Why: a median of whole numbers can end in .5; DuckDB's cast of a double
    to bigint rounds half to even, Spark's truncates. Spark rounds half to
    even first (bround), so both print the same whole number.
#}
{% macro double_to_bigint(expr) -%}
    {{ return(adapter.dispatch('double_to_bigint', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__double_to_bigint(expr) -%}
    {{ expr }}::bigint
{%- endmacro %}

{% macro spark__double_to_bigint(expr) -%}
    cast(bround({{ expr }}, 0) as bigint)
{%- endmacro %}
