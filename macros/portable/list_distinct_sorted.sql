{#
    Why: aggregate: the distinct values of a group as a sorted list (the
    reasons records were dead-lettered). DuckDB list(distinct ... order by
    ...); Spark the sorted set.
#}
{% macro list_distinct_sorted(expr) -%}
    {{ return(adapter.dispatch('list_distinct_sorted', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__list_distinct_sorted(expr) -%}
    list(distinct {{ expr }} order by {{ expr }})
{%- endmacro %}

{% macro spark__list_distinct_sorted(expr) -%}
    array_sort(collect_set({{ expr }}))
{%- endmacro %}
