-- One row per inference step per run: call latency percentiles (p50, p95,
-- p99 over the run's batches), records, failures and error rate; for the
-- recommend step also the confidence distribution of the candidates it
-- produced in that run.

with

ops_inference_batches as (
    select * from {{ ref('ops_inference_batches') }}
),

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

latency as (
    select
        run_id,
        step,
        count(*) as n_batches,
        sum(n_records) as n_records,
        sum(n_failed) as n_failed,
        quantile_cont(latency_ms, 0.5) as latency_p50_ms,
        quantile_cont(latency_ms, 0.95) as latency_p95_ms,
        quantile_cont(latency_ms, 0.99) as latency_p99_ms,
        max(processed_at) as processed_at
    from ops_inference_batches
    group by run_id, step
),

confidence as (
    select
        run_id,
        'recommend' as step,
        count(*) as n_candidates,
        avg(confidence) as confidence_mean,
        quantile_cont(confidence, 0.1) as confidence_p10,
        quantile_cont(confidence, 0.5) as confidence_p50,
        quantile_cont(confidence, 0.9) as confidence_p90,
        avg(case when passes_rules then 1.0 else 0.0 end) as candidate_acceptance_rate
    from int_recommendation_candidates_checked
    group by run_id
),

final as (
    select
        latency.run_id,
        latency.step,
        latency.n_batches,
        latency.n_records,
        latency.n_failed,
        round(latency.n_failed / latency.n_records, 6) as error_rate,
        round(latency.latency_p50_ms, 3) as latency_p50_ms,
        round(latency.latency_p95_ms, 3) as latency_p95_ms,
        round(latency.latency_p99_ms, 3) as latency_p99_ms,
        confidence.n_candidates,
        round(confidence.confidence_mean, 6) as confidence_mean,
        round(confidence.confidence_p10, 6) as confidence_p10,
        round(confidence.confidence_p50, 6) as confidence_p50,
        round(confidence.confidence_p90, 6) as confidence_p90,
        round(confidence.candidate_acceptance_rate, 6) as candidate_acceptance_rate,
        latency.processed_at
    from latency
    left join confidence
        on latency.run_id = confidence.run_id and latency.step = confidence.step
)

select * from final
