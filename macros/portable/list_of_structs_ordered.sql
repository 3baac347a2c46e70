{#
    Why: one list of records per group in an order of several keys (a
    batch's failing rules, most frequent first). `fields` is an ordered
    mapping of field name to SQL expression; `order_by` a list of
    [expression, 'asc' | 'desc'] pairs, the 'desc' ones numeric. DuckDB:
    list() of struct literals with order by; Spark: array_sort of
    collect_list of structs whose leading fields are the sort keys (a desc
    key negated), then the records taken out of them.
#}
{% macro list_of_structs_ordered(fields, order_by) -%}
    {{ return(adapter.dispatch('list_of_structs_ordered', 'holdfast')(fields, order_by)) }}
{%- endmacro %}

{% macro default__list_of_structs_ordered(fields, order_by) -%}
    list(
            {
            {%- for name, expression in fields.items() %} '{{ name }}': {{ expression }}{{ "," if not loop.last }}{% endfor %} } order by
            {%- for expression, direction in order_by %} {{ expression }} {{ direction }}{{ "," if not loop.last }}{% endfor %}
        )
{%- endmacro %}

{% macro spark__list_of_structs_ordered(fields, order_by) -%}
    transform(
        array_sort(collect_list(named_struct(
            {%- for expression, direction in order_by %}
            'sort_key_{{ loop.index }}', {% if direction == 'desc' %}-({{ expression }}){% else %}{{ expression }}{% endif %},
            {%- endfor %}
            'item', named_struct(
                {%- for name, expression in fields.items() %}
                '{{ name }}', {{ expression }}{{ "," if not loop.last }}
                {%- endfor %}
            )
        ))),
        sorted_item -> sorted_item.item
    )
{%- endmacro %}
