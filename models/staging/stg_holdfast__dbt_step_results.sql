-- One row per dbt node per run, as captured by the on-run-end hook
-- (macro record_step_runs) in ops.dbt_step_results.
{{ config(materialized='view') }}

with

source_rows as (
    select * from {{ source('holdfast_ops', 'dbt_step_results') }}
),

final as (
    select
        run_id,
        node_id,
        resource_type,
        node_name,
        status,
        message,
        execution_seconds,
        rows_affected,
        failures,
        run_started_at,
        recorded_at
    from source_rows
)

select * from final
