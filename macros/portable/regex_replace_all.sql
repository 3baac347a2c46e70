{#
    Why: replacing every match of a regex is spelled with the 'g' option on
    DuckDB (RE2) and is what Spark's regexp_replace (Java regex) always does.
    `pattern` is written once for both engines (no construct that differs
    between RE2 and Java), `replacement` names groups as \1..\9 (DuckDB's
    spelling; $1..$9 on Spark). Spark unescapes backslashes in string
    literals, so they are doubled there.
#}
{% macro regex_replace_all(text_expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'holdfast')(text_expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(text_expr, pattern, replacement) -%}
    regexp_replace({{ text_expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regex_replace_all(text_expr, pattern, replacement) -%}
    {%- set java_replacement = modules.re.sub('\\\\([0-9])', '$\\1', replacement) -%}
    regexp_replace({{ text_expr }}, '{{ pattern | replace('\\', '\\\\') }}', '{{ java_replacement | replace('\\', '\\\\') }}')
{%- endmacro %}
