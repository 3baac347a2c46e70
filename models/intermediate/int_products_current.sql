-- The current catalog: one row per product of the newest product snapshot
-- (the lexically greatest snapshot id with at least one valid line). Within a
-- snapshot the last line of a product wins. text_hash identifies the text the
-- embedding model sees, so a product is re-embedded only when it changes.

with

int_product_records_validated as (
    select * from {{ ref('int_product_records_validated') }}
),

valid_records as (
    select * from int_product_records_validated
    where is_valid
),

newest_snapshot as (
    select max(batch_id) as snapshot_id
    from valid_records
),

snapshot_records as (
    select valid_records.*
    from valid_records
    inner join newest_snapshot
        on valid_records.batch_id = newest_snapshot.snapshot_id
),

snapshot_records_ranked as (
    select
        *,
        row_number() over (partition by product_id order by line_number desc) as line_rank
    from snapshot_records
),

latest_line_per_product as (
    select * from snapshot_records_ranked
    where line_rank = 1
),

final as (
    select
        product_id,
        batch_id as snapshot_id,
        product_name,
        product_description,
        category,
        product_name || '. ' || category || '. ' || product_description as product_text,
        {{ sha256_hex("product_name || '. ' || category || '. ' || product_description") }} as text_hash,
        price,
        stock_quantity,
        stock_quantity > 0 as is_in_stock,
        ingested_at
    from latest_line_per_product
)

select * from final
