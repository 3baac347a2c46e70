{#
    Why: windows like "the last N days before the newest purchase" subtract a
    whole number of days from a timestamp; DuckDB spells the interval
    to_days(n), Spark make_dt_interval(n).
#}
{% macro minus_days(timestamp_expr, days_expr) -%}
    {{ return(adapter.dispatch('minus_days', 'holdfast')(timestamp_expr, days_expr)) }}
{%- endmacro %}

{% macro default__minus_days(timestamp_expr, days_expr) -%}
    {{ timestamp_expr }} - to_days({{ days_expr }})
{%- endmacro %}

{% macro spark__minus_days(timestamp_expr, days_expr) -%}
    {{ timestamp_expr }} - make_dt_interval({{ days_expr }})
{%- endmacro %}
