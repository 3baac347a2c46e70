{#
    Why: an instant in a key must not depend on how an engine prints
    timestamps: microseconds since the Unix epoch.
#}
{% macro epoch_us(timestamp_expr) -%}
    {{ return(adapter.dispatch('epoch_us', 'holdfast')(timestamp_expr)) }}
{%- endmacro %}

{% macro default__epoch_us(timestamp_expr) -%}
    epoch_us({{ timestamp_expr }})
{%- endmacro %}

{% macro spark__epoch_us(timestamp_expr) -%}
    unix_micros({{ timestamp_expr }})
{%- endmacro %}
