{#
    Why: the table the on-run-end hook writes must exist before any model reads
    it (ops_step_runs), including on the very first run of an empty warehouse.
#}
{% macro create_step_results_table() -%}
    {{ return(adapter.dispatch('create_step_results_table', 'holdfast')()) }}
{%- endmacro %}

{% macro default__create_step_results_table() -%}
    create schema if not exists ops;
    create table if not exists ops.dbt_step_results (
        run_id varchar,
        run_started_at timestamptz,
        node_id varchar,
        resource_type varchar,
        node_name varchar,
        status varchar,
        execution_seconds double,
        rows_affected bigint,
        failures bigint,
        message varchar,
        recorded_at timestamptz
    )
{%- endmacro %}
