-- One verdict per customer input line: every line of every customer file is
-- here exactly once, valid (parsed fields filled) or not (every failing rule
-- listed as 'path: message', zod style, 0-based list indexes).
-- Incremental per batch: only batches (re)ingested since the last run are
-- parsed; a re-delivered batch replaces its rows (an empty one withdraws
-- them: post-hook delete_batches_delivered_empty). Run in pieces, one per
-- group of batches of the CTE `lines` (materialization batched_incremental,
-- planner in_batch_groups), so memory follows validation_group_bytes (JSON
-- functions need memory in proportion to the text they parse).
{{ config(
    materialized=batched_incremental_by_key(),
    unique_key='batch_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=false),
    batch_planner='in_batch_groups',
    batch_bound_var='validation_group_bytes',
    batch_key='batch_id',
    batch_rows_cte='lines',
    batch_size='strlen(raw_line)',
    post_hook="{{ delete_batches_delivered_empty(ref('stg_landing__customer_lines')) }}",
) }}

with

stg_landing__customer_lines as (
    select * from {{ ref('stg_landing__customer_lines') }}
),

lines as (
    select
        batch_id,
        line_number,
        file_checksum,
        file_refusal_reason,
        is_line_undecodable,
        raw_line,
        ingested_at
    from stg_landing__customer_lines
    where
        line_number is not null
        and {{ batch_piece() }}
    {% if is_incremental() %}
        and ingested_at > (
            select coalesce(max(ingested_at), {{ earliest_timestamp() }}) from {{ this }}
        )
    {% endif %}
),

lines_parsed as (
    select
        *,
        case
            when
                file_refusal_reason is null
                and not is_line_undecodable
                and {{ json_is_valid('raw_line') }}
                then {{ json_parse('raw_line') }}
        end as record
    from lines
),

line_errors as (
    select
        batch_id,
        line_number,
        {{ list_compact(line_level_errors()) }} as errors
    from lines_parsed
),

-- the fields the rules read, each record parsed once for all their types and
-- once for all their texts (DuckDB parses JSON text again at every call)
records as (
    select
        batch_id,
        line_number,
        record,
        {{ json_value_types('record', ['$.id', '$.email', '$.purchaseHistory', '$.createdAt']) }} as field_types,
        {{ json_texts('record', ['$.id', '$.email', '$.createdAt']) }} as field_texts
    from lines_parsed
    where {{ json_value_type('record') }} = 'OBJECT'
),

record_fields as (
    select
        batch_id,
        line_number,
        record,
        {{ list_item('field_types', 1) }} as id_type,
        {{ list_item('field_texts', 1) }} as id_text,
        {{ list_item('field_types', 2) }} as email_type,
        {{ list_item('field_texts', 2) }} as email_text,
        {{ list_item('field_types', 3) }} as purchase_history_type,
        {{ list_item('field_types', 4) }} as created_at_type,
        {{ list_item('field_texts', 3) }} as created_at_text
    from records
),

record_field_errors as (
    select
        batch_id,
        line_number,
        id_type,
        id_text,
        email_text,
        created_at_text,
        {{ list_compact([
            field_type_error('id_type', "'id'", 'string'),
            "case when id_type = 'VARCHAR' and not " ~ regex_full_match('id_text', '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}') ~ " then 'id: Invalid uuid' end",
            field_type_error('email_type', "'email'", 'string'),
            "case when email_type = 'VARCHAR' and not (length(email_text) <= 254 and " ~ regex_full_match('email_text', '[A-Za-z0-9_+-]([A-Za-z0-9_+.-]*[A-Za-z0-9_+-])?@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}') ~ " and not contains(email_text, '..')) then 'email: Invalid email' end",
            field_type_error('purchase_history_type', "'purchaseHistory'", 'array'),
            field_type_error('created_at_type', "'createdAt'", 'string'),
            "case when created_at_type = 'VARCHAR' and not " ~ is_iso_datetime('created_at_text') ~ " then 'createdAt: Invalid datetime' end",
        ]) }} as errors
    from record_fields
),

purchase_lists as (
    select
        batch_id,
        line_number,
        {{ json_array_items('record', '$.purchaseHistory') }} as purchase_list
    from record_fields
    where purchase_history_type = 'ARRAY'
),

purchases as (
    select
        batch_id,
        line_number,
        {{ unnest_with_index('purchase_list', 'purchase', 'purchase_index') }}
    from purchase_lists
),

-- each purchase parsed three times (its own type, its fields' types, their
-- texts), not once per rule
purchase_values as (
    select
        batch_id,
        line_number,
        purchase_index,
        {{ json_value_type('purchase') }} as purchase_type,
        {{ json_value_types('purchase', ['$.productId', '$.amount', '$.date']) }} as field_types,
        {{ json_texts('purchase', ['$.productId', '$.amount', '$.date']) }} as field_texts
    from purchases
),

purchase_fields as (
    select
        batch_id,
        line_number,
        purchase_index,
        'purchaseHistory.' || purchase_index as element_path,
        purchase_type,
        {{ list_item('field_types', 1) }} as product_id_type,
        {{ list_item('field_texts', 1) }} as product_id_text,
        {{ list_item('field_types', 2) }} as amount_type,
        {{ list_item('field_texts', 2) }} as amount_text,
        {{ list_item('field_types', 3) }} as date_type,
        {{ list_item('field_texts', 3) }} as date_text
    from purchase_values
),

purchases_checked as (
    select
        batch_id,
        line_number,
        purchase_index,
        product_id_text,
        amount_text,
        date_text,
        {{ list_compact([
            "case when purchase_type <> 'OBJECT' then element_path || ': Expected object, received ' || " ~ json_type_name_label('purchase_type') ~ " end",
            "case when purchase_type = 'OBJECT' then " ~ field_type_error('product_id_type', "element_path || '.productId'", 'string') ~ " end",
            "case when product_id_type = 'VARCHAR' and length(trim(product_id_text)) = 0 then element_path || '.productId: String must contain at least 1 character(s)' end",
            "case when product_id_type = 'VARCHAR' and length(product_id_text) > 128 then element_path || '.productId: String must contain at most 128 character(s)' end",
            "case when purchase_type = 'OBJECT' then " ~ field_type_error('amount_type', "element_path || '.amount'", 'number') ~ " end",
            "case when " ~ json_type_name_label('amount_type') ~ " = 'number' and not " ~ is_finite("try_cast(amount_text as double)") ~ " then element_path || '.amount: Number must be finite' end",
            "case when " ~ json_type_name_label('amount_type') ~ " = 'number' and try_cast(amount_text as double) <= 0 then element_path || '.amount: Number must be greater than 0' end",
            "case when purchase_type = 'OBJECT' then " ~ field_type_error('date_type', "element_path || '.date'", 'string') ~ " end",
            "case when date_type = 'VARCHAR' and not " ~ is_iso_datetime('date_text') ~ " then element_path || '.date: Invalid datetime' end",
        ]) }} as errors
    from purchase_fields
),

purchase_errors_by_line as (
    select
        batch_id,
        line_number,
        flatten({{ list_agg_ordered('errors', 'purchase_index') }}) as errors,
        {{ list_agg_ordered(
            struct_pack({
                'product_id': 'trim(product_id_text)',
                'amount': 'try_cast(amount_text as double)',
                'purchased_at': try_cast_timestamp('date_text'),
            }),
            'purchase_index',
            where=list_length('errors') ~ ' = 0',
        ) }} as valid_purchases
    from purchases_checked
    group by batch_id, line_number
),

verdicts as (
    select
        lines_parsed.batch_id,
        lines_parsed.line_number,
        case
            when record_field_errors.id_type = 'VARCHAR'
                then left(record_field_errors.id_text, 128)
        end as record_id,
        record_field_errors.id_text,
        record_field_errors.email_text,
        record_field_errors.created_at_text,
        lines_parsed.file_checksum,
        lines_parsed.raw_line,
        line_errors.errors
        || coalesce(record_field_errors.errors, {{ empty_list() }})
        || coalesce(purchase_errors_by_line.errors, {{ empty_list() }}) as errors,
        coalesce(purchase_errors_by_line.valid_purchases, {{ empty_list() }}) as valid_purchases,
        lines_parsed.ingested_at
    from lines_parsed
    inner join line_errors
        on
            lines_parsed.batch_id = line_errors.batch_id
            and lines_parsed.line_number = line_errors.line_number
    left join record_field_errors
        on
            lines_parsed.batch_id = record_field_errors.batch_id
            and lines_parsed.line_number = record_field_errors.line_number
    left join purchase_errors_by_line
        on
            lines_parsed.batch_id = purchase_errors_by_line.batch_id
            and lines_parsed.line_number = purchase_errors_by_line.line_number
),

final as (
    select
        batch_id,
        line_number,
        record_id,
        case when {{ list_length('errors') }} = 0 then lower(id_text) end as customer_id,
        case when {{ list_length('errors') }} = 0 then email_text end as email,
        file_checksum,
        -- kept for the error log; a valid line's text stays in staging (at 2
        -- million customers, 1.6 GB not copied again)
        case when {{ list_length('errors') }} > 0 then raw_line end as raw_line,
        errors,
        case when {{ list_length('errors') }} = 0 then valid_purchases end as purchases,
        {{ list_length('errors') }} = 0 as is_valid,
        case when {{ list_length('errors') }} = 0 then {{ try_cast_timestamp('created_at_text') }} end as created_at,
        ingested_at
    from verdicts
)

select * from final
