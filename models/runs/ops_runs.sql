-- One row per dbt invocation that built the pipeline: the run id every row
-- written by that run carries, and when it started (UTC). Python models read
-- their run context from here, so it is always this run's, never a parse-time
-- value.
{{ config(materialized='incremental', unique_key='run_id') }}

with

this_run as (
    select
        '{{ invocation_id }}' as run_id,
        '{{ target.name }}' as target_name,
        '{{ dbt_version }}' as dbt_version,
        {{ run_started_at_utc() }} as run_started_at
),

final as (
    select * from this_run
)

select * from final
