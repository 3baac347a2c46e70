{#
    Why: analysts should query `marts.fct_recommendations`, not
    `main_marts.fct_recommendations`. A folder's `+schema` is used as the schema
    name itself; models without one land in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
