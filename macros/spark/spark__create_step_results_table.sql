{#
    Why: the step-results table on Spark: Spark runs one statement per call,
    so the schema is created first through run_query; Spark types.
#}
{% macro spark__create_step_results_table() -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ops') -%}
    {%- endif -%}
    create table if not exists ops.dbt_step_results (
        run_id string,
        run_started_at timestamp,
        node_id string,
        resource_type string,
        node_name string,
        status string,
        execution_seconds double,
        rows_affected bigint,
        failures bigint,
        message string,
        recorded_at timestamp
    )
{%- endmacro %}
