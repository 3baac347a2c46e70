-- One row per alert raised. alert_id is a stable dedup key (check + subject +
-- what was seen), so the same breach is raised once, not on every run.
-- Checks: schema_error_rate (a batch above schema_error_rate_alert),
-- batch_refused (a landing file that could not be accepted),
-- dead_letters_exhausted (records that used up their retry attempts),
-- record_count_anomaly (a batch's count off the median of the previous 5 by
-- more than record_count_tolerance), input_file_stale / input_records_stale
-- (the newest batch file, or the newest record in it, older than
-- freshness_warn_after_hours), confidence_psi, segment_size_psi,
-- recommendation_category_psi (shift against the previous run above
-- psi_warning / psi_critical) and inference_error_rate (a step's failed share
-- of records in a run above inference_error_rate_alert; critical above 0.5).
{{ config(materialized=incremental_by_key(), unique_key='alert_id', incremental_strategy=incremental_strategy_by_key(key_is_unique=true)) }}

{%- set threshold = checked_var('schema_error_rate_alert', min_value=0, max_value=1) %}

with

ops_batch_ledger as (
    select * from {{ ref('ops_batch_ledger') }}
),

ops_dead_letter_queue as (
    select * from {{ ref('ops_dead_letter_queue') }}
),

mon_input_quality as (
    select * from {{ ref('mon_input_quality') }}
),

mon_model_performance as (
    select * from {{ ref('mon_model_performance') }}
),

error_rate_breaches as (
    select
        md5('schema_error_rate|' || ops_batch_ledger.source || '|' || ops_batch_ledger.batch_id || '|' || ops_batch_ledger.file_checksum) as alert_id,
        case when ops_batch_ledger.error_rate > 0.5 then 'critical' else 'warning' end as severity,
        'schema_error_rate' as check_name,
        ops_batch_ledger.batch_id,
        'Batch ' || ops_batch_ledger.batch_id || ' (' || ops_batch_ledger.source || '): '
        || {{ printf_numbers('%.1f', ['100 * ops_batch_ledger.error_rate']) }} || '% of ' || ops_batch_ledger.rows_in
        || ' lines failed validation (alert above {{ (threshold | float * 100) | round(1) }}%). Top rules: '
        || {{ list_join(list_comprehension(list_slice('ops_batch_ledger.top_failing_rules', 1, 3), 'r', "r.rule || ' (' || r.lines || ')'"), "'; '") }}
            as message,
        {{ json_object({
            'source': 'ops_batch_ledger.source',
            'rows_in': 'ops_batch_ledger.rows_in',
            'rows_invalid': 'ops_batch_ledger.rows_invalid',
            'error_rate': 'ops_batch_ledger.error_rate',
            'threshold': threshold,
            'top_failing_rules': 'ops_batch_ledger.top_failing_rules',
            'file_checksum': 'ops_batch_ledger.file_checksum'
        }) }} as details
    from ops_batch_ledger
    where ops_batch_ledger.status = 'error_rate_exceeded'
),

refused_batches as (
    select
        md5('batch_refused|' || source || '|' || batch_id || '|' || file_checksum) as alert_id,
        'critical' as severity,
        'batch_refused' as check_name,
        batch_id,
        'File ' || file_name || ' in ' || source || ' was refused: ' || refusal_reason
        || ' (' || rows_in || ' lines logged as errors)' as message,
        {{ json_object({
            'source': 'source',
            'file_name': 'file_name',
            'rows_in': 'rows_in',
            'reason': 'refusal_reason',
            'file_checksum': 'file_checksum'
        }) }} as details
    from ops_batch_ledger
    where status = 'refused'
),

exhausted_dead_letters as (
    select
        md5(
            'dead_letters_exhausted|' || step || '|'
            || {{ string_agg_ordered('dead_letter_id', "','", 'dead_letter_id', multiline=false) }}
        ) as alert_id,
        'critical' as severity,
        'dead_letters_exhausted' as check_name,
        null as batch_id,
        count(*) || ' record(s) of step ' || step
        || ' used up their retry attempts and need a person (ops_dead_letter_queue)' as message,
        {{ json_object({
            'step': 'step',
            'n_records': 'count(*)',
            'reasons': list_distinct_sorted('reason')
        }) }} as details
    from ops_dead_letter_queue
    where status = 'exhausted'
    group by step
),

count_anomalies as (
    select
        md5(
            'record_count_anomaly|' || batch_key || '|' || rows_in || '|' || expected_rows
        ) as alert_id,
        'warning' as severity,
        'record_count_anomaly' as check_name,
        batch_id,
        'Batch ' || batch_id || ' (' || source || ') has ' || rows_in || ' lines, '
        || {{ printf_numbers('%+.0f', ['100 * count_deviation']) }} || '% against the median of the previous '
        || 'batches (' || expected_rows || '); tolerance '
        || {{ printf_numbers('%.0f', ['100 * ' ~ checked_var('record_count_tolerance', min_value=0)]) }} || '%'
            as message,
        {{ json_object({
            'source': 'source',
            'rows_in': 'rows_in',
            'expected_rows': 'expected_rows',
            'deviation': 'count_deviation'
        }) }} as details
    from mon_input_quality
    where is_count_anomaly
),

stale_files as (
    select
        md5('input_file_stale|' || source || '|' || batch_id || '|' || file_modified_at)
            as alert_id,
        'warning' as severity,
        'input_file_stale' as check_name,
        batch_id,
        'The newest ' || source || ' batch file (' || batch_id || ') is '
        || {{ printf_numbers('%.1f', ['file_age_hours']) }} || ' hours old (warn after '
        || {{ checked_var('freshness_warn_after_hours', min_value=0) }} || ' hours)' as message,
        {{ json_object({
            'source': 'source',
            'file_modified_at': 'file_modified_at',
            'file_age_hours': 'file_age_hours'
        }) }} as details
    from mon_input_quality
    where is_file_stale
),

stale_records as (
    select
        md5('input_records_stale|' || source || '|' || batch_id || '|' || newest_record_at)
            as alert_id,
        'warning' as severity,
        'input_records_stale' as check_name,
        batch_id,
        'The newest ' || source || ' record (batch ' || batch_id || ', '
        || {{ format_timestamp('newest_record_at', '%Y-%m-%d %H:%M') }} || ' UTC) is '
        || {{ printf_numbers('%.1f', ['record_age_hours']) }} || ' hours old (warn after '
        || {{ checked_var('freshness_warn_after_hours', min_value=0) }} || ' hours)' as message,
        {{ json_object({
            'source': 'source',
            'newest_record_at': 'newest_record_at',
            'record_age_hours': 'record_age_hours'
        }) }} as details
    from mon_input_quality
    where is_record_stale
),

model_breaches as (
    select
        md5(
            metric || '|' || step || '|' || run_id || '|' || severity
        ) as alert_id,
        severity,
        case when metric = 'error_rate' then 'inference_error_rate' else metric end as check_name,
        null as batch_id,
        case
            when metric = 'error_rate'
                then
                    'Step ' || step || ' failed on ' || {{ printf_numbers('%.1f', ['100 * metric_value']) }}
                    || '% of its records in run ' || run_id || ' (warning above '
                    || {{ printf_numbers('%.1f', ['100 * warning_threshold']) }} || '%)'
            else
                replace(metric, '_', ' ') || ' ' || {{ printf_numbers('%.3f', ['metric_value']) }}
                || ' against the previous run (warning above ' || warning_threshold
                || ', critical above ' || critical_threshold || ')'
        end as message,
        {{ json_object({
            'step': 'step',
            'metric': 'metric',
            'value': 'metric_value',
            'warning_threshold': 'warning_threshold',
            'critical_threshold': 'critical_threshold',
            'run_id': 'run_id'
        }) }} as details
    from mon_model_performance
    where severity in ('warning', 'critical')
),

alerts as (
    select * from error_rate_breaches
    union all
    select * from refused_batches
    union all
    select * from exhausted_dead_letters
    union all
    select * from count_anomalies
    union all
    select * from stale_files
    union all
    select * from stale_records
    union all
    select * from model_breaches
),

final as (
    select
        alert_id,
        {{ run_started_at_utc() }} as raised_at,
        severity,
        check_name,
        -- the inputs are masked already; this holds for any check added later
        {{ mask_emails('message') }} as message,
        {{ json_cast(mask_emails('details')) }} as details,
        {{ mask_emails('batch_id') }} as batch_id,
        '{{ invocation_id }}' as run_id
    from alerts
    {% if is_incremental() %}
        where alert_id not in (select alert_id from {{ this }})
    {% endif %}
)

select * from final
