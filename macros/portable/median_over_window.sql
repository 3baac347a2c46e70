{#
    Why: a median over a window frame (the previous batches of a source).
    Spark refuses median (percentile_cont) with an ORDER BY or a frame;
    percentile(x, 0.5), the same interpolated median, takes both. Follow the
    call with `over (...)`.
#}
{% macro median_over_window(expr) -%}
    {{ return(adapter.dispatch('median_over_window', 'holdfast')(expr)) }}
{%- endmacro %}

{% macro default__median_over_window(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro spark__median_over_window(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}
