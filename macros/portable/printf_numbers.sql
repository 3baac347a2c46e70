{#
    Why: labels like a confidence bin's "0.5-0.6" format numbers with
    printf. DuckDB divides an integer by 10.0 into a double; Spark into a
    decimal, which Java's %f does not take, so Spark casts each argument to
    double (the same binary value DuckDB formats). `format` is the printf
    format text, `args` a list of SQL expressions.
#}
{% macro printf_numbers(format, args) -%}
    {{ return(adapter.dispatch('printf_numbers', 'holdfast')(format, args)) }}
{%- endmacro %}

{% macro default__printf_numbers(format, args) -%}
    printf('{{ format }}', {{ args | join(', ') }})
{%- endmacro %}

{% macro spark__printf_numbers(format, args) -%}
    printf('{{ format }}'{% for arg in args %}, cast({{ arg }} as double){% endfor %})
{%- endmacro %}
