{#
    Why: applying an expression to every element of a list needs a lambda,
    written `lambda x: ...` on DuckDB and `x -> ...` on Spark. `param` names
    the element, `body` is SQL using it. `multiline` lays the call out on
    lines of its own (a long body inside a select list).
#}
{% macro list_transform(list_expr, param, body, multiline=false) -%}
    {{ return(adapter.dispatch('list_transform', 'holdfast')(list_expr, param, body, multiline)) }}
{%- endmacro %}

{% macro default__list_transform(list_expr, param, body, multiline=false) -%}
    {%- if multiline -%}
        list_transform(
            {{ list_expr }},
            lambda {{ param }}: {{ body }}
        )
    {%- else -%}
        list_transform({{ list_expr }}, lambda {{ param }}: {{ body }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__list_transform(list_expr, param, body, multiline=false) -%}
    transform({{ list_expr }}, {{ param }} -> {{ body }})
{%- endmacro %}
