{#
    Why: a JSON array field (purchaseHistory) is checked element by element, so
    it becomes a list of JSON values; null when the field is not an array.
#}
{% macro json_array_items(json_expr, path) -%}
    {{ return(adapter.dispatch('json_array_items', 'holdfast')(json_expr, path)) }}
{%- endmacro %}

{% macro default__json_array_items(json_expr, path) -%}
    json_extract({{ json_expr }}, '{{ path }}[*]')
{%- endmacro %}

{% macro spark__json_array_items(json_expr, path) -%}
    try_variant_get({{ json_expr }}, '{{ path }}', 'array<variant>')
{%- endmacro %}
