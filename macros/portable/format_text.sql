{#
    Why: a line for people (a segment's profile) mixes text with numbers
    printed with thousands separators and fixed decimals. DuckDB's format()
    takes a {fmt} template; Spark has no such function, so the template is
    cut at its placeholders and each argument printed with format_number
    (Java's DecimalFormat: half-even on the double's exact value, as {fmt}).
    `template` is the text without quotes; placeholders: {} (text), {:,}
    (a whole number with separators), {:,.Nf} (N decimals with separators),
    {:.Nf} (N decimals, no separators). `args` are SQL expressions, one per
    placeholder, laid out one per line as in a select list.
#}
{% macro format_text(template, args) -%}
    {{ return(adapter.dispatch('format_text', 'holdfast')(template, args)) }}
{%- endmacro %}

{% macro default__format_text(template, args) -%}
    format(
            '{{ template }}',
            {%- for arg in args %}
            {{ arg }}{{ "," if not loop.last }}
            {%- endfor %}
        )
{%- endmacro %}

{% macro spark__format_text(template, args) -%}
    {%- set placeholder = modules.re.compile('[{]([^}]*)[}]') -%}
    {%- set texts = placeholder.split(template) -%}
    {%- set parts = [] -%}
    {%- for text in texts -%}
        {%- if loop.index0 % 2 == 0 -%}
            {%- if text -%}
                {%- do parts.append("'" ~ text ~ "'") -%}
            {%- endif -%}
        {%- else -%}
            {%- set arg = args[loop.index0 // 2] -%}
            {%- set decimals = modules.re.match('^:(,?)(?:[.]([0-9]+)f)?$', text) -%}
            {%- if text == '' -%}
                {%- do parts.append('cast(' ~ arg ~ ' as string)') -%}
            {%- elif decimals is none -%}
                {{ exceptions.raise_compiler_error('format_text: unsupported placeholder {' ~ text ~ '}') }}
            {%- elif decimals.group(1) == ',' -%}
                {%- do parts.append('format_number(' ~ arg ~ ', ' ~ (decimals.group(2) or 0) ~ ')') -%}
            {%- else -%}
                {%- do parts.append("replace(format_number(" ~ arg ~ ", " ~ (decimals.group(2) or 0) ~ "), ',', '')") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    concat(
        {{ parts | join(',\n        ') }}
    )
{%- endmacro %}
