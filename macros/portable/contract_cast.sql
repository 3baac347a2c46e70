{#
    Why: an enforced contract declares a column's type in DuckDB's names, as
    DuckDB's arithmetic gives it (a sum of bigints is a hugeint there); where
    another engine's arithmetic gives another type (Spark's sum of bigints is
    a bigint), the value is cast to the declared type (spark_type).
#}
{% macro contract_cast(expr, data_type) -%}
    {{ return(adapter.dispatch('contract_cast', 'holdfast')(expr, data_type)) }}
{%- endmacro %}

{% macro default__contract_cast(expr, data_type) -%}
    {{ expr }}
{%- endmacro %}

{% macro spark__contract_cast(expr, data_type) -%}
    cast({{ expr }} as {{ spark_type(data_type) }})
{%- endmacro %}
