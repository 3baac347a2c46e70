{#
    Why: a landing line becomes a JSON value once, and the engines hold JSON
    differently (DuckDB: the JSON type; Spark/Databricks: VARIANT). Callers
    only ever pass the value on to the other json_* macros. Use it after
    json_is_valid(): DuckDB's cast raises on invalid text.
#}
{% macro json_parse(text_expr) -%}
    {{ return(adapter.dispatch('json_parse', 'holdfast')(text_expr)) }}
{%- endmacro %}

{% macro default__json_parse(text_expr) -%}
    {{ text_expr }}::json
{%- endmacro %}

{% macro spark__json_parse(text_expr) -%}
    try_parse_json({{ text_expr }})
{%- endmacro %}
