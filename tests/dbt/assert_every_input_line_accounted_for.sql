-- Every line of every landing file ends up as a verdict (valid or an error
-- row), and the ledger's counts add up: rows_in = rows_valid + rows_invalid
-- = lines in the file. Returns the batches where that does not hold.
-- Batch ids are compared as the ops tables hold them (mask_emails).

with

stg_lines as (
    select
        'customers' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        count(line_number) as n_lines
    from {{ ref('stg_landing__customer_lines') }}
    group by batch_id
    union all
    select
        'products' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        count(line_number) as n_lines
    from {{ ref('stg_landing__product_lines') }}
    group by batch_id
),

verdicts as (
    select
        'customers' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        count(*) filter (where is_valid) as n_valid,
        count(*) filter (where not is_valid) as n_invalid
    from {{ ref('int_customer_records_validated') }}
    group by batch_id
    union all
    select
        'products' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        count(*) filter (where is_valid) as n_valid,
        count(*) filter (where not is_valid) as n_invalid
    from {{ ref('int_product_records_validated') }}
    group by batch_id
),

error_rows as (
    select
        source,
        batch_id,
        count(*) as n_errors
    from {{ ref('ops_schema_errors') }}
    group by source, batch_id
),

ledger as (
    select * from {{ ref('ops_batch_ledger') }}
),

final as (
    select
        stg_lines.source,
        stg_lines.batch_id,
        stg_lines.n_lines,
        verdicts.n_valid,
        verdicts.n_invalid,
        error_rows.n_errors,
        ledger.rows_in,
        ledger.rows_valid,
        ledger.rows_invalid
    from stg_lines
    left join verdicts
        on stg_lines.source = verdicts.source and stg_lines.batch_id = verdicts.batch_id
    left join error_rows
        on stg_lines.source = error_rows.source and stg_lines.batch_id = error_rows.batch_id
    left join ledger
        on stg_lines.source = ledger.source and stg_lines.batch_id = ledger.batch_id
    where
        ledger.batch_id is null
        or ledger.rows_in <> stg_lines.n_lines
        or ledger.rows_valid + ledger.rows_invalid <> ledger.rows_in
        or coalesce(verdicts.n_valid, 0) + coalesce(verdicts.n_invalid, 0) <> stg_lines.n_lines
        or coalesce(error_rows.n_errors, 0) <> coalesce(verdicts.n_invalid, 0)
        or ledger.rows_invalid <> coalesce(error_rows.n_errors, 0)
)

select * from final
