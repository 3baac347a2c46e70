{#
    Why: ages and runtimes are differences of timestamps in whole units
    (DuckDB's date_diff counts the unit boundaries crossed, in the session
    time zone, UTC). Spark takes the difference of the two instants
    truncated to the unit (unix_seconds, unix_millis; datediff of the dates
    for days), which counts the same boundaries. `unit` is 'day', 'second'
    or 'millisecond'; `multiline` lays the DuckDB call out on lines of its
    own.
#}
{% macro date_diff_units(unit, start_expr, end_expr, multiline=false) -%}
    {{ return(adapter.dispatch('date_diff_units', 'holdfast')(unit, start_expr, end_expr, multiline)) }}
{%- endmacro %}

{% macro default__date_diff_units(unit, start_expr, end_expr, multiline=false) -%}
    {%- if multiline -%}
        date_diff(
            '{{ unit }}',
            {{ start_expr }},
            {{ end_expr }}
        )
    {%- else -%}
        date_diff('{{ unit }}', {{ start_expr }}, {{ end_expr }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__date_diff_units(unit, start_expr, end_expr, multiline=false) -%}
    {%- if unit == 'day' -%}
        datediff(cast({{ end_expr }} as date), cast({{ start_expr }} as date))
    {%- else -%}
        {%- set unix = {'second': 'unix_seconds', 'millisecond': 'unix_millis'}[unit] -%}
        ({{ unix }}({{ end_expr }}) - {{ unix }}({{ start_expr }}))
    {%- endif -%}
{%- endmacro %}
