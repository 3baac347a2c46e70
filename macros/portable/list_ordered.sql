{#
    Why: small per-group lists (a customer's rule masks by candidate rank) are
    gathered in a fixed order on one line; list_agg_ordered lays out the same
    aggregate over several lines. `where` (SQL, optional) keeps only some
    rows; with none kept the result is null on DuckDB and an empty list on
    Spark (callers coalesce).
#}
{% macro list_ordered(value_expr, order_expr, where=none) -%}
    {{ return(adapter.dispatch('list_ordered', 'holdfast')(value_expr, order_expr, where)) }}
{%- endmacro %}

{% macro default__list_ordered(value_expr, order_expr, where=none) -%}
    list({{ value_expr }} order by {{ order_expr }}){% if where is not none %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro spark__list_ordered(value_expr, order_expr, where=none) -%}
    {{ spark__list_agg_ordered(value_expr, order_expr, where) }}
{%- endmacro %}
