-- One row per (segment, product) bought by the segment's customers: affinity =
-- customers of the segment who bought it / customers who bought the segment's
-- best seller, in 0..1. Segment -1 (noise, or no segment model yet) gets the
-- whole population's affinity, so unsegmented customers still get a prior.

with

int_customers_segmented as (
    select * from {{ ref('int_customers_segmented') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

buyers as (
    select distinct
        int_purchases_deduplicated.customer_id,
        int_purchases_deduplicated.product_id,
        int_customers_segmented.segment_id
    from int_purchases_deduplicated
    inner join int_customers_segmented
        on int_purchases_deduplicated.customer_id = int_customers_segmented.customer_id
    where int_customers_segmented.status = 'ok'
),

segment_buyers as (
    select
        segment_id,
        product_id,
        count(*) as n_customers
    from buyers
    where segment_id <> -1
    group by segment_id, product_id
),

population_buyers as (
    select
        -1 as segment_id,
        product_id,
        count(*) as n_customers
    from buyers
    group by product_id
),

counts as (
    select * from segment_buyers
    union all
    select * from population_buyers
),

final as (
    select
        segment_id,
        product_id,
        n_customers,
        round(n_customers / max(n_customers) over (partition by segment_id), 6) as affinity
    from counts
)

select * from final
