{#
    Why: one row per element of a list (a line's failed rules), or per value
    of one field of a list of structs (`field`: a customer's purchase dates).
    DuckDB unnest() in the select list; Spark explode(), which cannot sit
    inside another expression, so the field is taken from the list first.
#}
{% macro unnest_list(list_expr, field=none) -%}
    {{ return(adapter.dispatch('unnest_list', 'holdfast')(list_expr, field)) }}
{%- endmacro %}

{% macro default__unnest_list(list_expr, field=none) -%}
    {%- if field is none -%}
        unnest({{ list_expr }})
    {%- else -%}
        struct_extract(unnest({{ list_expr }}), '{{ field }}')
    {%- endif -%}
{%- endmacro %}

{% macro spark__unnest_list(list_expr, field=none) -%}
    {%- if field is none -%}
        explode({{ list_expr }})
    {%- else -%}
        explode(transform({{ list_expr }}, item -> item.{{ field }}))
    {%- endif -%}
{%- endmacro %}
