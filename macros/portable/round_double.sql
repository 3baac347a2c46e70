{#
    Why: rounding a double to cents must give the same cent on every engine.
    DuckDB rounds the binary value (round(x * 100) / 100: 17.525 is stored
    as 17.52499.. and rounds down); Spark's round reads the double as its
    shortest decimal text ("17.525") and rounds that up. Spark rounds the
    scaled value the way DuckDB does.
#}
{% macro round_double(expr, digits) -%}
    {{ return(adapter.dispatch('round_double', 'holdfast')(expr, digits)) }}
{%- endmacro %}

{% macro default__round_double(expr, digits) -%}
    round({{ expr }}, {{ digits }})
{%- endmacro %}

{% macro spark__round_double(expr, digits) -%}
    round(({{ expr }}) * {{ 10 ** digits }}d, 0) / {{ 10 ** digits }}d
{%- endmacro %}
