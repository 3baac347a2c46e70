{#
    Why: whether a pattern matches anywhere in a text (not the whole text:
    regex_full_match) is regexp_matches on DuckDB (RE2) and regexp_like on
    Spark (Java regex). `pattern` is written once for both engines (no
    construct that differs between RE2 and Java); Spark unescapes
    backslashes in string literals, so they are doubled there.
#}
{% macro regex_contains(text_expr, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'holdfast')(text_expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_contains(text_expr, pattern) -%}
    regexp_matches({{ text_expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_contains(text_expr, pattern) -%}
    regexp_like({{ text_expr }}, '{{ pattern | replace('\\', '\\\\') }}')
{%- endmacro %}
