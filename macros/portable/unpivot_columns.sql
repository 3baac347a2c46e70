{#
    Why: per-step metrics are computed as columns and published as rows (one
    per metric). `select_sql` is the query with the columns, `columns` the
    ones to turn into rows, `name` and `value` the two new columns. DuckDB:
    `unpivot (...) on ... into name ... value ...`; Spark: the query's
    `unpivot (value for name in (...))` clause.
#}
{% macro unpivot_columns(select_sql, columns, name, value) -%}
    {{ return(adapter.dispatch('unpivot_columns', 'holdfast')(select_sql, columns, name, value)) }}
{%- endmacro %}

{% macro default__unpivot_columns(select_sql, columns, name, value) -%}
    unpivot (
        {{ select_sql }}
    )
    on {{ columns | join(', ') }}
    into name {{ name }} value {{ value }}
{%- endmacro %}

{% macro spark__unpivot_columns(select_sql, columns, name, value) -%}
    select * from (
        {{ select_sql }}
    )
    unpivot ({{ value }} for {{ name }} in ({{ columns | join(', ') }}))
{%- endmacro %}
