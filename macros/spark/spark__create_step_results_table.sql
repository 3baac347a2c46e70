{#
    Why: the step-results table on Spark: Spark types, one statement (the
    hook create_ops_schema runs before it and creates the schema).
#}
{% macro spark__create_step_results_table() -%}
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
