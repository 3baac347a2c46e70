{#
    Why: on Spark a batched model is a table built in one statement: Spark
    spills its shuffles and aggregations to disk and spreads them over
    workers, and open-source Spark tables cannot delete rows.
#}
{% macro spark__batched_incremental_by_key() -%}
    {{ return('table') }}
{%- endmacro %}
