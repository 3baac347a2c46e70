{#
    Why: keys are built by concatenating values as text (purchase_id); a cast
    to text is spelled differently on each engine.
#}
{% macro to_text(expr) -%}
    {{ return(adapter.dispatch('to_text', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__to_text(expr) -%}
    {{ expr }}::varchar
{%- endmacro %}

{% macro spark__to_text(expr) -%}
    cast({{ expr }} as string)
{%- endmacro %}
