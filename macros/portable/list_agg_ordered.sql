{#
    Why: per-element verdicts are gathered back into one list per record in
    element order, so messages and purchases keep the input's order on every
    engine. `where` (SQL, optional) keeps only some rows; with none kept the
    result is null on DuckDB and an empty list on Spark (callers coalesce).
#}
{% macro list_agg_ordered(value_expr, order_expr, where=none) -%}
    {{ return(adapter.dispatch('list_agg_ordered', 'holdfast')(value_expr, order_expr, where)) }}
{%- endmacro %}

{% macro default__list_agg_ordered(value_expr, order_expr, where=none) -%}
    list(
            {{ value_expr }}
            order by {{ order_expr }}
        ){% if where is not none %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro spark__list_agg_ordered(value_expr, order_expr, where=none) -%}
    {%- set item = "named_struct('sort_key', " ~ order_expr ~ ", 'item', " ~ value_expr ~ ")" -%}
    transform(
        array_sort(
            collect_list({% if where is not none %}case when {{ where }} then {{ item }} end{% else %}{{ item }}{% endif %}),
            (left_item, right_item) -> case
                when left_item.sort_key < right_item.sort_key then -1
                when left_item.sort_key > right_item.sort_key then 1
                else 0
            end
        ),
        kept -> kept.item
    )
{%- endmacro %}
