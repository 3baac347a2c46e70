{#
    Why: a list's distinct elements (the rules a line failed, each once).
    DuckDB's list_distinct keeps no particular order, Spark's array_distinct
    the first occurrence's: compare the elements, not their order.
    `multiline` lays the call out on lines of its own (a long argument inside
    a select list).
#}
{% macro list_distinct(list_expr, multiline=false) -%}
    {{ return(adapter.dispatch('list_distinct', 'holdfast')(list_expr, multiline)) }}
{%- endmacro %}

{% macro default__list_distinct(list_expr, multiline=false) -%}
    {%- if multiline -%}
        list_distinct(
            {{ list_expr }}
        )
    {%- else -%}
        list_distinct({{ list_expr }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__list_distinct(list_expr, multiline=false) -%}
    array_distinct({{ list_expr }})
{%- endmacro %}
