-- One row per alert raised. alert_id is a stable dedup key (check + subject +
-- what was seen), so the same breach is raised once, not on every run.
-- Checks: schema_error_rate (a batch above schema_error_rate_alert),
-- batch_refused (a landing file that could not be accepted),
-- dead_letters_exhausted (records that used up their retry attempts).
{{ config(materialized='incremental', unique_key='alert_id', incremental_strategy='delete+insert') }}

{%- set threshold = checked_var('schema_error_rate_alert', min_value=0, max_value=1) %}

with

ops_batch_ledger as (
    select * from {{ ref('ops_batch_ledger') }}
),

ops_dead_letter_queue as (
    select * from {{ ref('ops_dead_letter_queue') }}
),

error_rate_breaches as (
    select
        md5('schema_error_rate|' || ops_batch_ledger.source || '|' || ops_batch_ledger.batch_id || '|' || ops_batch_ledger.file_checksum) as alert_id,
        case when ops_batch_ledger.error_rate > 0.5 then 'critical' else 'warning' end as severity,
        'schema_error_rate' as check_name,
        ops_batch_ledger.batch_id,
        'Batch ' || ops_batch_ledger.batch_id || ' (' || ops_batch_ledger.source || '): '
        || printf('%.1f', 100 * ops_batch_ledger.error_rate) || '% of ' || ops_batch_ledger.rows_in
        || ' lines failed validation (alert above {{ (threshold | float * 100) | round(1) }}%). Top rules: '
        || array_to_string([r.rule || ' (' || r.lines || ')' for r in ops_batch_ledger.top_failing_rules[1:3]], '; ')
            as message,
        to_json({
            'source': ops_batch_ledger.source,
            'rows_in': ops_batch_ledger.rows_in,
            'rows_invalid': ops_batch_ledger.rows_invalid,
            'error_rate': ops_batch_ledger.error_rate,
            'threshold': {{ threshold }},
            'top_failing_rules': ops_batch_ledger.top_failing_rules,
            'file_checksum': ops_batch_ledger.file_checksum
        }) as details
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
        to_json({
            'source': source,
            'file_name': file_name,
            'rows_in': rows_in,
            'reason': refusal_reason,
            'file_checksum': file_checksum
        }) as details
    from ops_batch_ledger
    where status = 'refused'
),

exhausted_dead_letters as (
    select
        md5(
            'dead_letters_exhausted|' || step || '|'
            || string_agg(dead_letter_id, ',' order by dead_letter_id)
        ) as alert_id,
        'critical' as severity,
        'dead_letters_exhausted' as check_name,
        null as batch_id,
        count(*) || ' record(s) of step ' || step
        || ' used up their retry attempts and need a person (ops_dead_letter_queue)' as message,
        to_json({
            'step': step,
            'n_records': count(*),
            'reasons': list(distinct reason order by reason)
        }) as details
    from ops_dead_letter_queue
    where status = 'exhausted'
    group by step
),

alerts as (
    select * from error_rate_breaches
    union all
    select * from refused_batches
    union all
    select * from exhausted_dead_letters
),

final as (
    select
        alert_id,
        {{ run_started_at_utc() }} as raised_at,
        severity,
        check_name,
        message,
        details,
        batch_id,
        '{{ invocation_id }}' as run_id
    from alerts
    {% if is_incremental() %}
        where alert_id not in (select alert_id from {{ this }})
    {% endif %}
)

select * from final
