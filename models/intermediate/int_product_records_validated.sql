-- One verdict per product input line: every line of every product snapshot
-- file is here exactly once, valid (typed fields filled) or not (every failing
-- rule listed as 'path: message'). A CSV record is validated as the JSON
-- object it maps to (record_json), with the same rules and messages.
-- Incremental per batch, as the customer lines are: only snapshots
-- (re)ingested since the last run are validated; a re-delivered snapshot
-- replaces its rows (an empty one withdraws them: post-hook
-- delete_batches_delivered_empty). A run without a new snapshot validates
-- nothing.
{{ config(
    materialized=incremental_by_key(),
    unique_key='batch_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=false),
    post_hook="{{ delete_batches_delivered_empty(ref('stg_landing__product_lines')) }}",
) }}

with

stg_landing__product_lines as (
    select * from {{ ref('stg_landing__product_lines') }}
),

lines as (
    select
        batch_id,
        line_number,
        file_checksum,
        file_refusal_reason,
        is_line_undecodable,
        raw_line,
        coalesce(record_json, raw_line) as record_text,
        ingested_at
    from stg_landing__product_lines
    where
        line_number is not null
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
                and {{ json_is_valid('record_text') }}
                then {{ json_parse('record_text') }}
        end as record
    from lines
),

verdicts as (
    select
        batch_id,
        line_number,
        file_checksum,
        raw_line,
        record,
        ingested_at,
        case
            when {{ json_value_type('record', '$.productId') }} = 'VARCHAR'
                then left({{ json_text('record', '$.productId') }}, 128)
        end as record_id,
        {{ list_compact(line_level_errors() + [
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' then " ~ json_field_type_error('record', '$.productId', "'productId'", 'string') ~ " end",
            "case when " ~ json_value_type('record', '$.productId') ~ " = 'VARCHAR' and length(trim(" ~ json_text('record', '$.productId') ~ ")) = 0 then 'productId: String must contain at least 1 character(s)' end",
            "case when " ~ json_value_type('record', '$.productId') ~ " = 'VARCHAR' and length(" ~ json_text('record', '$.productId') ~ ") > 128 then 'productId: String must contain at most 128 character(s)' end",
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' then " ~ json_field_type_error('record', '$.name', "'name'", 'string') ~ " end",
            "case when " ~ json_value_type('record', '$.name') ~ " = 'VARCHAR' and length(trim(" ~ json_text('record', '$.name') ~ ")) = 0 then 'name: String must contain at least 1 character(s)' end",
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' and " ~ json_value_type('record', '$.description') ~ " is not null and " ~ json_value_type('record', '$.description') ~ " not in ('VARCHAR', 'NULL') then 'description: Expected string, received ' || " ~ json_type_label('record', '$.description') ~ " end",
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' then " ~ json_field_type_error('record', '$.category', "'category'", 'string') ~ " end",
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' then " ~ json_field_type_error('record', '$.price', "'price'", 'number') ~ " end",
            "case when " ~ json_type_label('record', '$.price') ~ " = 'number' and not " ~ is_finite("try_cast(" ~ json_text('record', '$.price') ~ " as double)") ~ " then 'price: Number must be finite' end",
            "case when " ~ json_type_label('record', '$.price') ~ " = 'number' and try_cast(" ~ json_text('record', '$.price') ~ " as double) < 0 then 'price: Number must be greater than or equal to 0' end",
            "case when " ~ json_value_type('record') ~ " = 'OBJECT' then " ~ json_field_type_error('record', '$.stockQuantity', "'stockQuantity'", 'number') ~ " end",
            "case when " ~ json_value_type('record', '$.stockQuantity') ~ " = 'DOUBLE' then 'stockQuantity: Expected integer, received float' end",
            "case when " ~ json_value_type('record', '$.stockQuantity') ~ " = 'BIGINT' and try_cast(" ~ json_text('record', '$.stockQuantity') ~ " as bigint) < 0 then 'stockQuantity: Number must be greater than or equal to 0' end",
            "case when " ~ json_value_type('record', '$.stockQuantity') ~ " = 'UBIGINT' and try_cast(" ~ json_text('record', '$.stockQuantity') ~ " as bigint) is null then 'stockQuantity: Number must be less than or equal to 9223372036854775807' end",
        ]) }} as errors
    from lines_parsed
),

final as (
    select
        batch_id,
        line_number,
        record_id,
        case when {{ list_length('errors') }} = 0 then trim({{ json_text('record', '$.productId') }}) end as product_id,
        case when {{ list_length('errors') }} = 0 then trim({{ json_text('record', '$.name') }}) end as product_name,
        case when {{ list_length('errors') }} = 0 then coalesce(trim({{ json_text('record', '$.description') }}), '') end as product_description,
        case when {{ list_length('errors') }} = 0 then trim({{ json_text('record', '$.category') }}) end as category,
        file_checksum,
        raw_line,
        errors,
        case when {{ list_length('errors') }} = 0 then try_cast({{ json_text('record', '$.price') }} as double) end as price,
        case when {{ list_length('errors') }} = 0 then try_cast({{ json_text('record', '$.stockQuantity') }} as bigint) end as stock_quantity,
        {{ list_length('errors') }} = 0 as is_valid,
        ingested_at
    from verdicts
)

select * from final
