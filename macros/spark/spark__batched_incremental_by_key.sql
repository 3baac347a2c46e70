{#
    Why: on open-source Spark a batched model is a table built in one
    statement: Spark spills its shuffles and aggregations to disk and spreads
    them over workers, and Parquet tables cannot delete rows. Databricks has
    its own (databricks__batched_incremental_by_key).
#}
{% macro spark__batched_incremental_by_key() -%}
    {{ return('table') }}
{%- endmacro %}
