{#
    Why: list elements are reported by their 0-based index
    (purchaseHistory.2.amount), so a list becomes one row per element with its
    index. Renders two select-list columns: `value_name`, then `index_name`.
#}
{% macro unnest_with_index(list_expr, value_name, index_name) -%}
    {{ return(adapter.dispatch('unnest_with_index', 'holdfast')(list_expr, value_name, index_name)) }}
{%- endmacro %}

{% macro default__unnest_with_index(list_expr, value_name, index_name) -%}
    unnest({{ list_expr }}) as {{ value_name }},
        generate_subscripts({{ list_expr }}, 1) - 1 as {{ index_name }}
{%- endmacro %}

{% macro spark__unnest_with_index(list_expr, value_name, index_name) -%}
    inline(
        transform(
            {{ list_expr }},
            (element, position) -> named_struct('{{ value_name }}', element, '{{ index_name }}', position)
        )
    )
{%- endmacro %}
