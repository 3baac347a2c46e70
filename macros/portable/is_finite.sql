{#
    Why: amounts and prices must be finite numbers; null stays null (unknown),
    so a rule built on it does not fire on a missing value.
#}
{% macro is_finite(number_expr) -%}
    {{ return(adapter.dispatch('is_finite', 'holdfast')(number_expr)) }}
{%- endmacro %}

{% macro default__is_finite(number_expr) -%}
    isfinite({{ number_expr }})
{%- endmacro %}

{% macro spark__is_finite(number_expr) -%}
    case
        when {{ number_expr }} is not null
            then not (isnan({{ number_expr }}) or abs({{ number_expr }}) = double('Infinity'))
    end
{%- endmacro %}
