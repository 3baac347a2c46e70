-- One row per run per monitored distribution (confidence, segment_size,
-- recommendation_category): its population stability index (PSI) against
-- the previous run that measured it, with the severity of the shift (PSI
-- above psi_warning: warning; above psi_critical: critical). Bins missing on
-- one side count as a share of 0.0001, so a new or vanished bin weighs in
-- without dividing by zero. The first run of a distribution has no PSI.

with

mon_distribution_history as (
    select * from {{ ref('mon_distribution_history') }}
    where distribution in ('confidence', 'segment_size', 'recommendation_category')
),

runs as (
    select
        distribution,
        run_id,
        max(measured_at) as measured_at,
        sum(n) as n,
        string_agg(distinct model_version, ',') as model_version
    from mon_distribution_history
    group by distribution, run_id
),

runs_paired as (
    select
        *,
        lag(run_id) over (partition by distribution order by measured_at, run_id)
            as previous_run_id,
        lag(model_version) over (partition by distribution order by measured_at, run_id)
            as previous_model_version
    from runs
),

bins_of_pairs as (
    select distinct
        runs_paired.distribution,
        runs_paired.run_id,
        runs_paired.previous_run_id,
        mon_distribution_history.bin
    from runs_paired
    inner join mon_distribution_history
        on
            runs_paired.distribution = mon_distribution_history.distribution
            and mon_distribution_history.run_id in (runs_paired.run_id, runs_paired.previous_run_id)
    where runs_paired.previous_run_id is not null
),

bins_compared as (
    select
        bins_of_pairs.distribution,
        bins_of_pairs.run_id,
        coalesce(current_bins.share, 0) as actual_share,
        coalesce(previous_bins.share, 0) as expected_share
    from bins_of_pairs
    left join mon_distribution_history as current_bins
        on
            bins_of_pairs.distribution = current_bins.distribution
            and bins_of_pairs.run_id = current_bins.run_id
            and bins_of_pairs.bin = current_bins.bin
    left join mon_distribution_history as previous_bins
        on
            bins_of_pairs.distribution = previous_bins.distribution
            and bins_of_pairs.previous_run_id = previous_bins.run_id
            and bins_of_pairs.bin = previous_bins.bin
),

psi as (
    select
        distribution,
        run_id,
        sum(
            (greatest(actual_share, 0.0001) - greatest(expected_share, 0.0001))
            * ln(greatest(actual_share, 0.0001) / greatest(expected_share, 0.0001))
        ) as psi
    from bins_compared
    group by distribution, run_id
),

final as (
    select
        md5(runs_paired.distribution || '|' || runs_paired.run_id) as distribution_shift_id,
        runs_paired.run_id,
        runs_paired.distribution,
        runs_paired.previous_run_id,
        runs_paired.n,
        round(psi.psi, 6) as psi,
        case
            when psi.psi > {{ checked_var('psi_critical', min_value=0) }} then 'critical'
            when psi.psi > {{ checked_var('psi_warning', min_value=0) }} then 'warning'
            else 'ok'
        end as severity,
        coalesce(runs_paired.model_version <> runs_paired.previous_model_version, false)
            as is_after_refit,
        runs_paired.measured_at
    from runs_paired
    left join psi
        on runs_paired.distribution = psi.distribution and runs_paired.run_id = psi.run_id
)

select * from final
