{#
    Why: generic tests receive var values as arguments (rendered in YAML) and
    paste them into SQL. Like checked_var, but for a value already in hand:
    it must be a plain finite number within the bounds, or the test does not
    compile, with a message naming `name`.
#}
{% macro checked_value(name, value, min_value=none, max_value=none) -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?', text) -%}
        {{ exceptions.raise_compiler_error("'" ~ name ~ "' must be a number, got: " ~ (text | truncate(40))) }}
    {%- endif -%}
    {%- set number = text | float -%}
    {%- if min_value is not none and number < min_value -%}
        {{ exceptions.raise_compiler_error("'" ~ name ~ "' must be >= " ~ min_value ~ ", got " ~ text) }}
    {%- endif -%}
    {%- if max_value is not none and number > max_value -%}
        {{ exceptions.raise_compiler_error("'" ~ name ~ "' must be <= " ~ max_value ~ ", got " ~ text) }}
    {%- endif -%}
    {{ text }}
{%- endmacro %}
