-- One row per Python step per run: rows and batches it wrote, wall and CPU
-- seconds, memory at its start and at its peak (set-up such as loading the
-- model included), read from the JSON reports the steps leave beside the
-- warehouse file (macro step_telemetry_files). Rebuilt from all reports on
-- every run; the depends_on lines make it run after the steps.
-- depends_on: {{ ref('int_products_embedded') }}
-- depends_on: {{ ref('int_customer_vectors') }}
-- depends_on: {{ ref('int_segment_models') }}
-- depends_on: {{ ref('int_customers_segmented') }}
-- depends_on: {{ ref('int_recommendations_scored') }}

with

step_reports as (
    {{ step_telemetry_files() }}
),

final as (
    select
        md5(run_id || '|' || step) as step_telemetry_id,
        run_id,
        step,
        status,
        {{ mask_emails('error') }} as error,
        rows,
        batches,
        expected_rows,
        wall_seconds,
        cpu_seconds,
        start_rss_mb,
        peak_rss_mb,
        round(peak_rss_mb - start_rss_mb, 1) as peak_rss_growth_mb,
        started_at,
        ended_at
    from step_reports
)

select * from final
