-- One row per input line that failed validation (customers and products):
-- every failing rule as 'path: message', the rules in normalised form (list
-- indexes as *) for counting, and the raw line with e-mail addresses masked,
-- then truncated to 1,000 characters (masking first: a cut cannot leave part
-- of an address behind). batch_id is masked as in ops_batch_ledger (a refused
-- file named after an address).

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

invalid_lines_masked as (
    select
        source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        line_number,
        {{ mask_emails('record_id') }} as record_id,
        file_checksum,
        {{ list_comprehension('errors', 'e', mask_emails('e')) }} as errors,
        {{ mask_emails('raw_line') }} as masked_line,
        ingested_at
    from invalid_lines
),

final as (
    select
        md5(source || '|' || batch_id || '|' || line_number) as schema_error_id,
        source,
        batch_id,
        line_number,
        record_id,
        file_checksum,
        errors,
        {{ list_distinct(
            list_comprehension('errors', 'e', regex_replace_all('e', '\\.[0-9]+([.:])', '.*\\1')),
            multiline=true
        ) }} as failed_rules,
        left(masked_line, 1000) as raw_record,
        length(masked_line) > 1000 as is_raw_record_truncated,
        ingested_at
    from invalid_lines_masked
)

select * from final
