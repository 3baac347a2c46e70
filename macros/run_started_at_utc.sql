{#
    Why: every row a run writes carries when that run started, in UTC, as one
    comparable timestamptz; dbt's run_started_at is a Python datetime.
#}
{% macro run_started_at_utc() -%}
    {{ return(adapter.dispatch('run_started_at_utc', 'holdfast')()) }}
{%- endmacro %}

{% macro default__run_started_at_utc() -%}
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz
{%- endmacro %}

{#- Spark targets run with spark.sql.session.timeZone UTC -#}
{% macro spark__run_started_at_utc() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00:00' as timestamp)
{%- endmacro %}
