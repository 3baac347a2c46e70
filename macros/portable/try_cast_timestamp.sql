{#
    Why: datetimes are stored as instants (UTC); text that is not a real
    instant becomes null instead of failing the build. Spark targets run with
    spark.sql.session.timeZone UTC, so their timestamp is the same instant.
#}
{% macro try_cast_timestamp(text_expr) -%}
    {{ return(adapter.dispatch('try_cast_timestamp', 'holdfast')(text_expr)) }}
{%- endmacro %}

{% macro default__try_cast_timestamp(text_expr) -%}
    try_cast({{ text_expr }} as timestamptz)
{%- endmacro %}

{% macro spark__try_cast_timestamp(text_expr) -%}
    try_cast({{ text_expr }} as timestamp)
{%- endmacro %}
