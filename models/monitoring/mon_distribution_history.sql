-- One row per run per distribution per bin: the distributions whose shift
-- across runs is monitored, measured on the marts as they stand after the run:
--   confidence               fct_recommendations.confidence in 10 fixed bins of 0.1
--   segment_size             customers per segment_id (fct_customer_segments)
--   recommendation_category  recommendations per product category
--   dead_letter_queue        dead letters per step and status (size and growth)
-- Incremental: each run appends its own rows, so mon_distribution_shift can
-- compare a run with the one before it.
{{ config(
    materialized=incremental_by_key(),
    unique_key='distribution_bin_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=true),
) }}

with

fct_recommendations as (
    select
        product_id,
        confidence
    from {{ ref('fct_recommendations') }}
),

fct_customer_segments as (
    select * from {{ ref('fct_customer_segments') }}
),

dim_products as (
    select * from {{ ref('dim_products') }}
),

ops_dead_letter_queue as (
    select * from {{ ref('ops_dead_letter_queue') }}
),

-- the recommendations, counted once per (confidence bin, product): the
-- confidence and category distributions both roll up from these few
-- thousand rows (reading the recommendations twice made DuckDB materialise
-- all 14 million of them at 2 million customers: 3 s)
recommendation_bins as (
    select
        least(floor(confidence * 10), 9)::integer as confidence_bin,
        product_id,
        count(*) as n
    from fct_recommendations
    group by 1, 2
),

confidence_bins as (
    select
        'confidence' as distribution,
        confidence_bin as bin_order,
        {{ printf_numbers('%.1f-%.1f', ['confidence_bin / 10.0', 'confidence_bin / 10.0 + 0.1']) }} as bin,
        sum(n)::bigint as n
    from recommendation_bins
    where confidence_bin is not null
    group by 1, 2, 3
),

segment_bins as (
    select
        'segment_size' as distribution,
        segment_id as bin_order,
        {{ to_text('segment_id') }} as bin,
        count(*) as n
    from fct_customer_segments
    group by 1, 2, 3
),

category_bins as (
    select
        'recommendation_category' as distribution,
        0 as bin_order,
        coalesce(dim_products.category, '(unknown)') as bin,
        sum(recommendation_bins.n)::bigint as n
    from recommendation_bins
    left join dim_products
        on recommendation_bins.product_id = dim_products.product_id
    group by 1, 2, 3
),

dead_letter_bins as (
    select
        'dead_letter_queue' as distribution,
        0 as bin_order,
        step || '|' || status as bin,
        count(*) as n
    from ops_dead_letter_queue
    group by 1, 2, 3
),

all_bins as (
    select * from confidence_bins
    union all
    select * from segment_bins
    union all
    select * from category_bins
    union all
    select * from dead_letter_bins
),

segment_model as (
    select {{ string_agg_distinct_sorted('segment_model_id', "','") }} as model_version
    from fct_customer_segments
),

final as (
    select
        md5('{{ invocation_id }}' || '|' || all_bins.distribution || '|' || all_bins.bin)
            as distribution_bin_id,
        '{{ invocation_id }}' as run_id,
        all_bins.distribution,
        all_bins.bin,
        all_bins.bin_order,
        case
            when all_bins.distribution = 'segment_size' then segment_model.model_version
        end as model_version,
        all_bins.n,
        round(all_bins.n / sum(all_bins.n) over (partition by all_bins.distribution), 8) as share,
        {{ run_started_at_utc() }} as measured_at
    from all_bins
    cross join segment_model
)

select * from final
