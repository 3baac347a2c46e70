{#
    Why: "is this line JSON at all?" is the first validation rule, and each
    engine has its own parser; this asks the same parser json_parse() uses.
#}
{% macro json_is_valid(text_expr) -%}
    {{ return(adapter.dispatch('json_is_valid', 'holdfast')(text_expr)) }}
{%- endmacro %}

{% macro default__json_is_valid(text_expr) -%}
    json_valid({{ text_expr }})
{%- endmacro %}

{% macro spark__json_is_valid(text_expr) -%}
    (try_parse_json({{ text_expr }}) is not null)
{%- endmacro %}
