{#
    Why: the batch groups bound DuckDB's memory (its list aggregates do not
    spill). Spark spills its shuffles and aggregations to disk and spreads them
    over workers, so on Spark the model's SQL runs whole, as one statement.
#}
{% macro spark__in_batch_groups(sql, lines_relation, max_bytes_var) -%}
    {{ return(sql | replace('__HOLDFAST_BATCH_FILTER__', 'true')) }}
{%- endmacro %}
