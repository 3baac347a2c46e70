{#
    Why: a column that is null until something happens (a dead letter's
    resolved_at) still needs its type; DuckDB writes null::timestamptz,
    Spark (session time zone UTC) a null timestamp.
#}
{% macro null_timestamp() -%}
    {{ return(adapter.dispatch('null_timestamp', 'holdfast')()) }}
{%- endmacro %}

{% macro default__null_timestamp() -%}
    null::timestamptz
{%- endmacro %}

{% macro spark__null_timestamp() -%}
    cast(null as timestamp)
{%- endmacro %}
