{#
    Why: on Databricks a batched model is incremental, with dbt-databricks'
    own incremental materialization and the model's strategy
    (incremental_strategy_by_key), its SQL run in one statement as on Spark:
    Spark spills its shuffles and aggregations to disk and spreads them over
    workers, so the pieces that bound DuckDB's memory are not needed. The
    batched_incremental materialization is DuckDB's (adapter='duckdb'); its
    planners read DuckDB's listing and row counts.
#}
{% macro databricks__batched_incremental_by_key() -%}
    {{ return('incremental') }}
{%- endmacro %}
