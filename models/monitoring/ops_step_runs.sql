-- One row per dbt node per run (models, tests, seeds): outcome and timing.
-- The current run's rows appear after it ends (written by on-run-end).
{{ config(materialized='view') }}

with

stg_holdfast__dbt_step_results as (
    select * from {{ ref('stg_holdfast__dbt_step_results') }}
),

final as (
    select
        md5(run_id || '|' || node_id) as step_run_id,
        run_id,
        node_id,
        resource_type,
        node_name,
        status,
        message,
        execution_seconds,
        rows_affected,
        failures,
        status in ('success', 'pass') as is_success,
        run_started_at,
        recorded_at
    from stg_holdfast__dbt_step_results
)

select * from final
