{#
    Why: two sources of the same shape (the customer and product landing
    lines) are stacked into one. DuckDB matches their columns by name; Spark
    SQL stacks them by position, which is the same here because both come
    from one macro (landing_file_lines) with the same columns in the same
    order.
#}
{% macro union_all_by_name() -%}
    {{ return(adapter.dispatch('union_all_by_name', 'holdfast')()) }}
{%- endmacro %}

{% macro default__union_all_by_name() -%}
    union all by name
{%- endmacro %}

{% macro spark__union_all_by_name() -%}
    union all
{%- endmacro %}
