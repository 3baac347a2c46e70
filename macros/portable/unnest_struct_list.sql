{#
    Why: a list of structs (a customer's valid purchases) becomes one row per
    element with the struct's fields as columns.
#}
{% macro unnest_struct_list(list_expr) -%}
    {{ return(adapter.dispatch('unnest_struct_list', 'holdfast')(list_expr)) }}
{%- endmacro %}

{% macro default__unnest_struct_list(list_expr) -%}
    unnest({{ list_expr }}, recursive := true)
{%- endmacro %}

{% macro spark__unnest_struct_list(list_expr) -%}
    inline({{ list_expr }})
{%- endmacro %}
