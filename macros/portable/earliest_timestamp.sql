{#
    Why: a watermark of an empty table (coalesce(max(t), ...)) must be
    earlier than every timestamp, so the first incremental run reads every
    row. DuckDB has -infinity; Spark has no infinite timestamps, and its
    earliest, 0001-01-01, is earlier than any row's.
#}
{% macro earliest_timestamp() -%}
    {{ return(adapter.dispatch('earliest_timestamp', 'holdfast')()) }}
{%- endmacro %}

{% macro default__earliest_timestamp() -%}
    '-infinity'::timestamptz
{%- endmacro %}

{% macro spark__earliest_timestamp() -%}
    cast('0001-01-01 00:00:00' as timestamp)
{%- endmacro %}
