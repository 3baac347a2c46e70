{#
    Why: ages and runtimes are differences of timestamps in whole units
    (DuckDB's date_diff counts the unit boundaries crossed). Spark takes the
    difference of the two instants truncated to the unit (unix_seconds,
    unix_millis), which counts the same boundaries. `unit` is 'second' or
    'millisecond'.
#}
{% macro date_diff_units(unit, start_expr, end_expr) -%}
    {{ return(adapter.dispatch('date_diff_units', 'holdfast')(unit, start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__date_diff_units(unit, start_expr, end_expr) -%}
    date_diff('{{ unit }}', {{ start_expr }}, {{ end_expr }})
{%- endmacro %}

{% macro spark__date_diff_units(unit, start_expr, end_expr) -%}
    {%- set unix = {'second': 'unix_seconds', 'millisecond': 'unix_millis'}[unit] -%}
    ({{ unix }}({{ end_expr }}) - {{ unix }}({{ start_expr }}))
{%- endmacro %}
