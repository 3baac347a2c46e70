{#
    Why: a version label made of every distinct value of a group (the segment
    models in use), sorted so it is the same on every engine. DuckDB:
    string_agg(distinct ... order by ...); Spark: the sorted set, joined.
#}
{% macro string_agg_distinct_sorted(expr, separator) -%}
    {{ return(adapter.dispatch('string_agg_distinct_sorted', 'holdfast')(expr, separator)) }}
{%- endmacro %}

{% macro default__string_agg_distinct_sorted(expr, separator) -%}
    string_agg(distinct {{ expr }}, {{ separator }} order by {{ expr }})
{%- endmacro %}

{% macro spark__string_agg_distinct_sorted(expr, separator) -%}
    nullif(array_join(array_sort(collect_set({{ expr }})), {{ separator }}), '')
{%- endmacro %}
