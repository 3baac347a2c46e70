{#
    Why: an expression applied to every element of a list, written as a
    DuckDB list comprehension ([body for x in list]); Spark has none and
    takes a `->` lambda. `param` names the element, `body` is SQL using it.
    Same result as list_transform, in the comprehension's spelling.
#}
{% macro list_comprehension(list_expr, param, body) -%}
    {{ return(adapter.dispatch('list_comprehension', 'holdfast')(list_expr, param, body)) }}
{%- endmacro %}

{% macro default__list_comprehension(list_expr, param, body) -%}
    [{{ body }} for {{ param }} in {{ list_expr }}]
{%- endmacro %}

{% macro spark__list_comprehension(list_expr, param, body) -%}
    transform({{ list_expr }}, {{ param }} -> {{ body }})
{%- endmacro %}
