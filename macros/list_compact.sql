{#
    Why: validation rules are written as a list of "error or null" expressions,
    one per rule; this keeps the errors that fired, in rule order.
#}
{% macro list_compact(expressions) -%}
    {{ return(adapter.dispatch('list_compact', 'holdfast')(expressions)) }}
{%- endmacro %}

{% macro default__list_compact(expressions) -%}
    list_filter([
        {%- for expression in expressions %}
        {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ], lambda message: message is not null)
{%- endmacro %}

{% macro spark__list_compact(expressions) -%}
    filter(array(
        {%- for expression in expressions %}
        {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    ), message -> message is not null)
{%- endmacro %}
