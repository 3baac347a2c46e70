{#
    Why: a timestamp printed for people in a message. `format` is written
    with strftime's codes (%Y %m %d %H %M %S), DuckDB's; Spark's date_format
    takes Java's pattern letters, translated here (session time zone UTC on
    both).
#}
{% macro format_timestamp(expr, format) -%}
    {{ return(adapter.dispatch('format_timestamp', 'holdfast')(expr, format)) }}
{%- endmacro %}

{% macro default__format_timestamp(expr, format) -%}
    strftime({{ expr }}, '{{ format }}')
{%- endmacro %}

{% macro spark__format_timestamp(expr, format) -%}
    {%- set pattern = namespace(text=format) -%}
    {%- for code, letters in [('%Y', 'yyyy'), ('%m', 'MM'), ('%d', 'dd'), ('%H', 'HH'), ('%M', 'mm'), ('%S', 'ss')] -%}
        {%- set pattern.text = pattern.text | replace(code, letters) -%}
    {%- endfor -%}
    date_format({{ expr }}, '{{ pattern.text }}')
{%- endmacro %}
