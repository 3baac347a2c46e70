-- One row per dbt run: end-to-end runtime (sum of node times), nodes that
-- succeeded / failed / warned, and the dead-letter queue as it stands now.
-- A view on purpose: the current run's node results are recorded by the
-- on-run-end hook, after every model is built; a view shows them at once.
{{ config(materialized='view') }}

with

ops_step_runs as (
    select * from {{ ref('ops_step_runs') }}
),

ops_dead_letter_queue as (
    select * from {{ ref('ops_dead_letter_queue') }}
),

runs as (
    select
        run_id,
        min(run_started_at) as run_started_at,
        max(recorded_at) as run_ended_at,
        sum(execution_seconds) as node_seconds,
        count(*) as n_nodes,
        count(*) filter (where is_success) as n_succeeded,
        count(*) filter (where status in ('error', 'fail')) as n_failed,
        count(*) filter (where status = 'warn') as n_warned
    from ops_step_runs
    group by run_id
),

dead_letters as (
    select
        count(*) filter (where status = 'pending') as dead_letters_pending,
        count(*) filter (where status = 'exhausted') as dead_letters_exhausted
    from ops_dead_letter_queue
),

final as (
    select
        runs.run_id,
        runs.n_nodes,
        runs.n_succeeded,
        runs.n_failed,
        runs.n_warned,
        dead_letters.dead_letters_pending,
        dead_letters.dead_letters_exhausted,
        round(date_diff('millisecond', runs.run_started_at, runs.run_ended_at) / 1000.0, 3)
            as runtime_seconds,
        round(runs.node_seconds, 3) as node_seconds,
        round(runs.n_succeeded / runs.n_nodes, 6) as success_rate,
        runs.run_started_at,
        runs.run_ended_at
    from runs
    cross join dead_letters
)

select * from final
