{#
    Why: one sorted list of records per group (a customer's products) is
    cheaper than several aggregates each ordered again. `fields` is an
    ordered mapping of field name to SQL expression; the records sort by
    their fields in order, on DuckDB (list_sort of a list of structs) as on
    Spark (array_sort of collect_list of named_struct).
#}
{% macro list_of_sorted_structs(fields) -%}
    {{ return(adapter.dispatch('list_of_sorted_structs', 'holdfast')(fields)) }}
{%- endmacro %}

{% macro default__list_of_sorted_structs(fields) -%}
    list_sort(list({
            {%- for name, expression in fields.items() %}
            '{{ name }}': {{ expression }}{{ "," if not loop.last }}
            {%- endfor %}
        }))
{%- endmacro %}

{% macro spark__list_of_sorted_structs(fields) -%}
    array_sort(collect_list(named_struct(
        {%- for name, expression in fields.items() %}
        '{{ name }}', {{ expression }}{{ "," if not loop.last }}
        {%- endfor %}
    )))
{%- endmacro %}
