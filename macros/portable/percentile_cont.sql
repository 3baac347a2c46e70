{#
    Why: latency percentiles interpolate between the two nearest values;
    DuckDB spells it quantile_cont, Spark percentile (both linear).
#}
{% macro percentile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'holdfast')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}
