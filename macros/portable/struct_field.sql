{#
    Why: one field of a struct value (a segment profile's label); DuckDB's
    struct_extract, Spark's dot.
#}
{% macro struct_field(struct_expr, field) -%}
    {{ return(adapter.dispatch('struct_field', 'holdfast')(struct_expr, field)) }}
{%- endmacro %}

{% macro default__struct_field(struct_expr, field) -%}
    struct_extract({{ struct_expr }}, '{{ field }}')
{%- endmacro %}

{% macro spark__struct_field(struct_expr, field) -%}
    {{ struct_expr }}.{{ field }}
{%- endmacro %}
