-- One row per dbt run: end-to-end runtime (first node start to the hook's
-- record at the end), nodes that succeeded / failed / warned and the success
-- rate, the dead-letter queue after the run (pending + exhausted) and its
-- growth since the previous run, and the Python steps' total CPU seconds and
-- highest peak memory (per-step figures: ops_step_telemetry).
-- A view on purpose: the current run's node results are recorded by the
-- on-run-end hook, after every model is built; a view shows them at once.
{{ config(materialized='view') }}

with

ops_step_runs as (
    select * from {{ ref('ops_step_runs') }}
),

mon_distribution_history as (
    select * from {{ ref('mon_distribution_history') }}
),

ops_step_telemetry as (
    select * from {{ ref('ops_step_telemetry') }}
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
        run_id,
        coalesce(sum(n) filter (where bin like '%|pending'), 0) as dead_letters_pending,
        coalesce(sum(n) filter (where bin like '%|exhausted'), 0) as dead_letters_exhausted
    from mon_distribution_history
    where distribution = 'dead_letter_queue'
    group by run_id
),

python_steps as (
    select
        run_id,
        sum(cpu_seconds) as python_cpu_seconds,
        max(peak_rss_mb) as python_peak_rss_mb
    from ops_step_telemetry
    group by run_id
),

final as (
    select
        runs.run_id,
        runs.n_nodes,
        runs.n_succeeded,
        runs.n_failed,
        runs.n_warned,
        coalesce(dead_letters.dead_letters_pending, 0) as dead_letters_pending,
        coalesce(dead_letters.dead_letters_exhausted, 0) as dead_letters_exhausted,
        coalesce(dead_letters.dead_letters_pending, 0)
        + coalesce(dead_letters.dead_letters_exhausted, 0) as dead_letter_queue_size,
        coalesce(dead_letters.dead_letters_pending, 0)
        + coalesce(dead_letters.dead_letters_exhausted, 0)
        - lag(
            coalesce(dead_letters.dead_letters_pending, 0)
            + coalesce(dead_letters.dead_letters_exhausted, 0)
        ) over (order by runs.run_started_at, runs.run_id) as dead_letter_queue_growth,
        round({{ date_diff_units('millisecond', 'runs.run_started_at', 'runs.run_ended_at') }} / 1000.0, 3)
            as runtime_seconds,
        round(runs.node_seconds, 3) as node_seconds,
        round(runs.n_succeeded / runs.n_nodes, 6) as success_rate,
        round(runs.n_failed / runs.n_nodes, 6) as failure_rate,
        round(python_steps.python_cpu_seconds, 3) as python_cpu_seconds,
        python_steps.python_peak_rss_mb,
        runs.run_started_at,
        runs.run_ended_at
    from runs
    left join dead_letters
        on runs.run_id = dead_letters.run_id
    left join python_steps
        on runs.run_id = python_steps.run_id
)

select * from final
