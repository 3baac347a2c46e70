-- One row per input line that failed validation (customers and products):
-- every failing rule as 'path: message', the rules in normalised form (list
-- indexes as *) for counting, and the raw line truncated to 1,000 characters
-- with e-mail addresses masked.

with

int_customer_records_validated as (
    select * from {{ ref('int_customer_records_validated') }}
),

int_product_records_validated as (
    select * from {{ ref('int_product_records_validated') }}
),

invalid_lines as (
    select
        'customers' as source,
        batch_id,
        line_number,
        record_id,
        file_checksum,
        raw_line,
        errors,
        ingested_at
    from int_customer_records_validated
    where not is_valid
    union all
    select
        'products' as source,
        batch_id,
        line_number,
        record_id,
        file_checksum,
        raw_line,
        errors,
        ingested_at
    from int_product_records_validated
    where not is_valid
),

final as (
    select
        md5(source || '|' || batch_id || '|' || line_number) as schema_error_id,
        source,
        batch_id,
        line_number,
        {{ mask_emails('record_id') }} as record_id,
        file_checksum,
        errors,
        list_distinct(
            [regexp_replace(e, '\.[0-9]+([.:])', '.*\1', 'g') for e in errors]
        ) as failed_rules,
        {{ mask_emails('left(raw_line, 1000)') }} as raw_record,
        length(raw_line) > 1000 as is_raw_record_truncated,
        ingested_at
    from invalid_lines
)

select * from final
