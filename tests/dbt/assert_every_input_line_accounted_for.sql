-- Every file of the landing folders, as the last read listed them
-- (ops.landing_listing, ignored entries aside), is in staging once under its
-- batch id with the listed size, and in the ledger; every line of every
-- staged file ends up as a verdict (valid or an error row); and the ledger's
-- three counts, each taken on its own, agree with those and add up:
-- rows_in = lines staged = rows_valid + rows_invalid, rows_valid = valid
-- verdicts, rows_invalid = error rows. Returns the files and batches where
-- that does not hold, with what is wrong. Batch ids and file names are
-- compared as the ops tables hold them (mask_emails).

with

listed_files as (
    select
        source,
        batch_id,
        file_name,
        file_size_bytes
    from {{ source('holdfast_ops', 'landing_listing') }}
    where status <> 'ignored'
),

staged_lines as (
    select
        'customers' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        {{ mask_emails('file_name', keep_distinct=true) }} as file_name,
        file_size_bytes,
        line_number
    from {{ ref('stg_landing__customer_lines') }}
    union all
    select
        'products' as source,
        {{ mask_emails('batch_id', keep_distinct=true) }} as batch_id,
        {{ mask_emails('file_name', keep_distinct=true) }} as file_name,
        file_size_bytes,
        line_number
    from {{ ref('stg_landing__product_lines') }}
),

staged_batches as (
    select
        source,
        batch_id,
        count(distinct file_name) as n_files,
        any_value(file_name) as file_name,
        any_value(file_size_bytes) as file_size_bytes,
        count(line_number) as n_lines
    from staged_lines
    group by source, batch_id
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

batches as (
    select
        coalesce(listed_files.source, staged_batches.source) as source,
        coalesce(listed_files.batch_id, staged_batches.batch_id) as batch_id,
        listed_files.file_name as listed_file_name,
        listed_files.file_size_bytes as listed_size,
        staged_batches.file_name as staged_file_name,
        staged_batches.file_size_bytes as staged_size,
        staged_batches.n_files,
        staged_batches.n_lines
    from listed_files
    full outer join staged_batches
        on
            listed_files.source = staged_batches.source
            and listed_files.batch_id = staged_batches.batch_id
),

checked as (
    select
        batches.*,
        verdicts.n_valid,
        verdicts.n_invalid,
        error_rows.n_errors,
        ledger.file_name as ledger_file_name,
        ledger.rows_in,
        ledger.rows_valid,
        ledger.rows_invalid,
        case
            when batches.listed_file_name is not null and batches.staged_file_name is null
                then 'listed in the landing folder but never staged'
            when batches.n_files > 1
                then 'several files staged under one batch id'
            when
                batches.listed_file_name is not null
                and batches.listed_file_name <> batches.staged_file_name
                then 'staged from another file than the one listed'
            when batches.listed_size <> batches.staged_size
                then 'staged size differs from the listed size'
            when ledger.batch_id is null
                then 'no ledger row'
            when ledger.file_name <> batches.staged_file_name
                then 'the ledger names another file'
            when ledger.rows_in <> batches.n_lines
                then 'ledger rows_in differs from the lines staged'
            when coalesce(verdicts.n_valid, 0) + coalesce(verdicts.n_invalid, 0) <> batches.n_lines
                then 'not every staged line has one verdict'
            when coalesce(error_rows.n_errors, 0) <> coalesce(verdicts.n_invalid, 0)
                then 'error rows differ from the invalid verdicts'
            when ledger.rows_valid <> coalesce(verdicts.n_valid, 0)
                then 'ledger rows_valid differs from the valid verdicts'
            when ledger.rows_invalid <> coalesce(error_rows.n_errors, 0)
                then 'ledger rows_invalid differs from the error rows'
            when ledger.rows_valid + ledger.rows_invalid <> ledger.rows_in
                then 'ledger rows_valid + rows_invalid differs from rows_in'
        end as problem
    from batches
    left join verdicts
        on batches.source = verdicts.source and batches.batch_id = verdicts.batch_id
    left join error_rows
        on batches.source = error_rows.source and batches.batch_id = error_rows.batch_id
    left join ledger
        on batches.source = ledger.source and batches.batch_id = ledger.batch_id
),

final as (
    select * from checked
    where problem is not null
)

select * from final
