-- One row per delivered batch file (source, batch_id): its checksum and the
-- previous one when it was re-delivered with new content, line counts, error
-- rate and status. The three counts are taken independently: rows_in from the
-- staged lines, rows_valid from the validated models' valid rows, rows_invalid
-- from ops_schema_errors; rows_in = rows_valid + rows_invalid is checked by
-- the test assert_every_input_line_accounted_for, not assumed here.
-- Incremental: a batch's row changes only when a file with a new checksum
-- arrives.
{{ config(materialized=incremental_by_key(), unique_key='batch_key', incremental_strategy=incremental_strategy_by_key(key_is_unique=true)) }}

with

stg_landing__customer_lines as (
    select * from {{ ref('stg_landing__customer_lines') }}
),

stg_landing__product_lines as (
    select * from {{ ref('stg_landing__product_lines') }}
),

ops_schema_errors as (
    select * from {{ ref('ops_schema_errors') }}
),

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

int_product_records_validated as (
    select * from {{ ref('int_product_records_validated') }}
),

landing_lines as (
    select
        'customers' as source,
        *
    from stg_landing__customer_lines
    {{ union_all_by_name() }}
    select
        'products' as source,
        *
    from stg_landing__product_lines
),

batches as (
    -- names and reasons are masked here, where they enter the operator tables
    -- (a refused file may be named after an e-mail address); the keyed mask
    -- keeps two such files two batches, and matches ops_schema_errors.batch_id
    select
        landing_lines.source,
        {{ mask_emails('landing_lines.batch_id', keep_distinct=true) }} as batch_id,
        {{ mask_emails('any_value(landing_lines.file_name)', keep_distinct=true) }} as file_name,
        any_value(landing_lines.file_checksum) as file_checksum,
        {{ mask_emails('any_value(landing_lines.file_refusal_reason)') }} as refusal_reason,
        count(landing_lines.line_number) as rows_in,
        min(landing_lines.ingested_at) as ingested_at
    from landing_lines
    group by landing_lines.source, landing_lines.batch_id
),

valid_per_batch as (
    select
        'customers' as source,
        batch_id,
        file_checksum,
        count(*) as rows_valid
    from int_customer_records_validated
    where is_valid
    group by batch_id, file_checksum
    union all
    select
        'products' as source,
        batch_id,
        file_checksum,
        count(*) as rows_valid
    from int_product_records_validated
    where is_valid
    group by batch_id, file_checksum
),

errors_per_batch as (
    select
        source,
        batch_id,
        file_checksum,
        count(*) as rows_invalid
    from ops_schema_errors
    group by source, batch_id, file_checksum
),

failed_rules_unnested as (
    select
        source,
        batch_id,
        {{ unnest_list('failed_rules') }} as failed_rule
    from ops_schema_errors
),

rule_counts as (
    select
        source,
        batch_id,
        failed_rule,
        count(*) as n_lines
    from failed_rules_unnested
    group by source, batch_id, failed_rule
),

top_rules as (
    select
        source,
        batch_id,
        {{ list_slice(list_of_structs_ordered(
            {'rule': 'failed_rule', 'lines': 'n_lines'},
            [['n_lines', 'desc'], ['failed_rule', 'asc']]
        ), 1, 5) }} as top_failing_rules
    from rule_counts
    group by source, batch_id
),

batches_counted as (
    select
        batches.source,
        batches.batch_id,
        batches.file_name,
        batches.file_checksum,
        batches.refusal_reason,
        batches.rows_in,
        coalesce(valid_per_batch.rows_valid, 0) as rows_valid,
        coalesce(errors_per_batch.rows_invalid, 0) as rows_invalid,
        coalesce(top_rules.top_failing_rules, {{ empty_list() }}) as top_failing_rules,
        batches.ingested_at
    from batches
    left join valid_per_batch
        on
            batches.source = valid_per_batch.source
            and batches.batch_id = valid_per_batch.batch_id
            and batches.file_checksum = valid_per_batch.file_checksum
    left join errors_per_batch
        on
            batches.source = errors_per_batch.source
            and batches.batch_id = errors_per_batch.batch_id
            and batches.file_checksum = errors_per_batch.file_checksum
    left join top_rules
        on
            batches.source = top_rules.source
            and batches.batch_id = top_rules.batch_id
),

{% if is_incremental() %}
    previous as (
        select * from {{ this }}
    ),
{% endif %}

final as (
    select
        batches_counted.source || '/' || batches_counted.batch_id as batch_key,
        batches_counted.batch_id,
        batches_counted.source,
        batches_counted.file_name,
        batches_counted.file_checksum,
        {% if is_incremental() %}previous.file_checksum{% else %}{{ to_text('null') }}{% endif %} as previous_checksum,
        case
            when batches_counted.refusal_reason is not null then 'refused'
            when batches_counted.rows_in = 0 then 'empty'
            when batches_counted.rows_invalid = 0 then 'loaded'
            when
                batches_counted.rows_invalid / batches_counted.rows_in
                > {{ checked_var('schema_error_rate_alert', min_value=0, max_value=1) }}
                then 'error_rate_exceeded'
            else 'loaded_with_errors'
        end as status,
        batches_counted.refusal_reason,
        batches_counted.top_failing_rules,
        batches_counted.rows_in,
        batches_counted.rows_valid,
        batches_counted.rows_invalid,
        case
            when batches_counted.rows_in > 0
                then {{ round_double('batches_counted.rows_invalid / batches_counted.rows_in', 6) }}
        end as error_rate,
        {% if is_incremental() %}coalesce(previous.n_deliveries, 0) + 1{% else %}1{% endif %} as n_deliveries,
        {% if is_incremental() %}
            coalesce(previous.first_loaded_at, batches_counted.ingested_at)
        {% else %}
            batches_counted.ingested_at
        {% endif %} as first_loaded_at,
        batches_counted.ingested_at as last_loaded_at
    from batches_counted
    {% if is_incremental() %}
        left join previous
            on
                batches_counted.source = previous.source
                and batches_counted.batch_id = previous.batch_id
        where previous.batch_id is null or previous.file_checksum <> batches_counted.file_checksum
    {% endif %}
)

select * from final
