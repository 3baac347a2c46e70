{#
    Why: a typical spend is a median rounded to cents, so its last bit
    decides a midpoint. DuckDB's median interpolates lower + 0.5 * (upper -
    lower); Spark's 0.5 * lower + 0.5 * upper, which can differ in the last
    bit. Spark computes DuckDB's formula from the two middle values (the
    lower one ascending, the upper one descending; one value when the count
    is odd), as a double like DuckDB's median of any number type.
#}
{% macro median_interpolated(expr) -%}
    {{ return(adapter.dispatch('median_interpolated', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__median_interpolated(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro spark__median_interpolated(expr) -%}
    {%- set value = 'cast(' ~ expr ~ ' as double)' -%}
    (
        percentile_disc(0.5) within group (order by {{ value }})
        + 0.5 * (
            percentile_disc(0.5) within group (order by {{ value }} desc)
            - percentile_disc(0.5) within group (order by {{ value }})
        )
    )
{%- endmacro %}
