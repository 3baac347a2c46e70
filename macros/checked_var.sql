{#
    Why: vars arrive from the command line and end up inside SQL. Every var the
    SQL layer uses goes through here: numbers must be finite numbers inside the
    given bounds, paths must not be able to break out of a string literal,
    booleans must be true or false (rendered as the text true / false).
    A bad value stops the build with a message that names the var.
#}
{% macro checked_var(name, kind='number', min_value=none, max_value=none) -%}
    {%- set value = var(name) -%}
    {%- if kind == 'number' -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.fullmatch('-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?', text) -%}
            {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be a number, got: " ~ (text | truncate(40))) }}
        {%- endif -%}
        {%- set number = text | float -%}
        {%- if min_value is not none and number < min_value -%}
            {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be >= " ~ min_value ~ ", got " ~ text) }}
        {%- endif -%}
        {%- if max_value is not none and number > max_value -%}
            {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be <= " ~ max_value ~ ", got " ~ text) }}
        {%- endif -%}
        {{ text }}
    {%- elif kind == 'path' -%}
        {%- set text = value | string -%}
        {%- if not modules.re.fullmatch('[A-Za-z0-9_./ -]{1,512}', text) -%}
            {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be a plain path (letters, digits, _ . / - and spaces), got: " ~ (text | truncate(60))) }}
        {%- endif -%}
        {{ text }}
    {%- elif kind == 'bool' -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in ['true', 'false'] -%}
            {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be true or false, got: " ~ (text | truncate(40))) }}
        {%- endif -%}
        {{ text }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("checked_var: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}
