{#
    Why: the staging, validation and current-state models are incremental by
    key with delete+insert on DuckDB. Open-source Spark tables cannot delete
    rows, so Spark targets rebuild these models as tables on every run (same
    rows, more work); the choice is made here, once, from the target type.
#}
{% macro incremental_by_key() -%}
    {{ return(adapter.dispatch('incremental_by_key', 'holdfast')()) }}
{%- endmacro %}

{% macro default__incremental_by_key() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_by_key() -%}
    {{ return('table') }}
{%- endmacro %}
