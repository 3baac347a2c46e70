-- One verdict per customer input line: every line of every customer file is
-- here exactly once, valid (parsed fields filled) or not (every failing rule
-- listed as 'path: message', zod style, 0-based list indexes).
-- Incremental per batch: only batches (re)ingested since the last run are
-- parsed; a re-delivered batch replaces its rows. Run per group of batches
-- (macro in_batch_groups), so memory follows validation_group_bytes
-- (JSON functions need memory in proportion to the text they parse).
{{ config(materialized=incremental_by_key(), unique_key='batch_id', incremental_strategy='delete+insert') }}

{% set validated_sql %}
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
        and __HOLDFAST_BATCH_FILTER__
    {% if is_incremental() %}
        and ingested_at > (
            select coalesce(max(ingested_at), '-infinity'::timestamptz) from {{ this }}
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

records as (
    select * from lines_parsed
    where {{ json_value_type('record') }} = 'OBJECT'
),

record_field_errors as (
    select
        batch_id,
        line_number,
        {{ list_compact([
            json_field_type_error('record', '$.id', "'id'", 'string'),
            "case when " ~ json_value_type('record', '$.id') ~ " = 'VARCHAR' and not " ~ regex_full_match(json_text('record', '$.id'), '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}') ~ " then 'id: Invalid uuid' end",
            json_field_type_error('record', '$.email', "'email'", 'string'),
            "case when " ~ json_value_type('record', '$.email') ~ " = 'VARCHAR' and not (length(" ~ json_text('record', '$.email') ~ ") <= 254 and " ~ regex_full_match(json_text('record', '$.email'), '[A-Za-z0-9_+-]([A-Za-z0-9_+.-]*[A-Za-z0-9_+-])?@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}') ~ " and not contains(" ~ json_text('record', '$.email') ~ ", '..')) then 'email: Invalid email' end",
            json_field_type_error('record', '$.purchaseHistory', "'purchaseHistory'", 'array'),
            json_field_type_error('record', '$.createdAt', "'createdAt'", 'string'),
            "case when " ~ json_value_type('record', '$.createdAt') ~ " = 'VARCHAR' and not " ~ is_iso_datetime(json_text('record', '$.createdAt')) ~ " then 'createdAt: Invalid datetime' end",
        ]) }} as errors
    from records
),

purchase_lists as (
    select
        batch_id,
        line_number,
        {{ json_array_items('record', '$.purchaseHistory') }} as purchase_list
    from records
    where {{ json_value_type('record', '$.purchaseHistory') }} = 'ARRAY'
),

purchases as (
    select
        batch_id,
        line_number,
        {{ unnest_with_index('purchase_list', 'purchase', 'purchase_index') }}
    from purchase_lists
),

purchases_checked as (
    select
        batch_id,
        line_number,
        purchase_index,
        'purchaseHistory.' || purchase_index as element_path,
        purchase,
        {{ list_compact([
            "case when " ~ json_value_type('purchase') ~ " <> 'OBJECT' then 'purchaseHistory.' || purchase_index || ': Expected object, received ' || " ~ json_type_label('purchase', '$') ~ " end",
            "case when " ~ json_value_type('purchase') ~ " = 'OBJECT' then " ~ json_field_type_error('purchase', '$.productId', "'purchaseHistory.' || purchase_index || '.productId'", 'string') ~ " end",
            "case when " ~ json_value_type('purchase', '$.productId') ~ " = 'VARCHAR' and length(trim(" ~ json_text('purchase', '$.productId') ~ ")) = 0 then 'purchaseHistory.' || purchase_index || '.productId: String must contain at least 1 character(s)' end",
            "case when " ~ json_value_type('purchase', '$.productId') ~ " = 'VARCHAR' and length(" ~ json_text('purchase', '$.productId') ~ ") > 128 then 'purchaseHistory.' || purchase_index || '.productId: String must contain at most 128 character(s)' end",
            "case when " ~ json_value_type('purchase') ~ " = 'OBJECT' then " ~ json_field_type_error('purchase', '$.amount', "'purchaseHistory.' || purchase_index || '.amount'", 'number') ~ " end",
            "case when " ~ json_type_label('purchase', '$.amount') ~ " = 'number' and not " ~ is_finite("try_cast(" ~ json_text('purchase', '$.amount') ~ " as double)") ~ " then 'purchaseHistory.' || purchase_index || '.amount: Number must be finite' end",
            "case when " ~ json_type_label('purchase', '$.amount') ~ " = 'number' and try_cast(" ~ json_text('purchase', '$.amount') ~ " as double) <= 0 then 'purchaseHistory.' || purchase_index || '.amount: Number must be greater than 0' end",
            "case when " ~ json_value_type('purchase') ~ " = 'OBJECT' then " ~ json_field_type_error('purchase', '$.date', "'purchaseHistory.' || purchase_index || '.date'", 'string') ~ " end",
            "case when " ~ json_value_type('purchase', '$.date') ~ " = 'VARCHAR' and not " ~ is_iso_datetime(json_text('purchase', '$.date')) ~ " then 'purchaseHistory.' || purchase_index || '.date: Invalid datetime' end",
        ]) }} as errors
    from purchases
),

purchase_errors_by_line as (
    select
        batch_id,
        line_number,
        flatten({{ list_agg_ordered('errors', 'purchase_index') }}) as errors,
        {{ list_agg_ordered(
            struct_pack({
                'product_id': 'trim(' ~ json_text('purchase', '$.productId') ~ ')',
                'amount': 'try_cast(' ~ json_text('purchase', '$.amount') ~ ' as double)',
                'purchased_at': try_cast_timestamp(json_text('purchase', '$.date')),
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
            when {{ json_value_type('lines_parsed.record', '$.id') }} = 'VARCHAR'
                then left({{ json_text('lines_parsed.record', '$.id') }}, 128)
        end as record_id,
        lines_parsed.file_checksum,
        lines_parsed.raw_line,
        lines_parsed.record,
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
        case when {{ list_length('errors') }} = 0 then lower({{ json_text('record', '$.id') }}) end as customer_id,
        case when {{ list_length('errors') }} = 0 then {{ json_text('record', '$.email') }} end as email,
        file_checksum,
        raw_line,
        errors,
        case when {{ list_length('errors') }} = 0 then valid_purchases end as purchases,
        {{ list_length('errors') }} = 0 as is_valid,
        case when {{ list_length('errors') }} = 0 then {{ try_cast_timestamp(json_text('record', '$.createdAt')) }} end as created_at,
        ingested_at
    from verdicts
)

select * from final
{% endset %}

{{ in_batch_groups(validated_sql, ref('stg_landing__customer_lines'), 'validation_group_bytes') }}
