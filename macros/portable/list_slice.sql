{#
    Why: the first few elements of a list (a batch's top failing rules).
    `first` and `last` are 1-based and inclusive on every engine (DuckDB's
    [first:last]; Spark's slice takes a start and a length).
#}
{% macro list_slice(list_expr, first, last) -%}
    {{ return(adapter.dispatch('list_slice', 'holdfast')(list_expr, first, last)) }}
{%- endmacro %}

{% macro default__list_slice(list_expr, first, last) -%}
    {{ list_expr }}[{{ first }}:{{ last }}]
{%- endmacro %}

{% macro spark__list_slice(list_expr, first, last) -%}
    slice({{ list_expr }}, {{ first }}, {{ last - first + 1 }})
{%- endmacro %}
