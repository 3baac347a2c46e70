{#
    Why: format rules (uuid, e-mail, ISO datetime, batch id) must match the
    whole text, with the same pattern on every engine. `pattern` is a
    constant written in the project, never input.
#}
{% macro regex_full_match(text_expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'holdfast')(text_expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(text_expr, pattern) -%}
    regexp_full_match({{ text_expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Java regex: \z is the very end ($ would also match before a final newline) -#}
{% macro spark__regex_full_match(text_expr, pattern) -%}
    ({{ text_expr }} rlike r'^(?:{{ pattern }})\z')
{%- endmacro %}
