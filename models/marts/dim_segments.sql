-- One row per segment of the current assignment, plus segment -1 for the
-- customers nothing places (no purchase of a product the model knows, or no
-- model yet): size, share, how many of its customers HDBSCAN left as noise
-- (they are in it because it is their nearest segment), spend and recency,
-- and the label and most distinctive products the segment model computed
-- from its fit sample (c-TF-IDF of the product names the segment buys,
-- int_segment_models.segment_profiles).
--
-- Labels belong to the segment model, computed once when it is fitted: names
-- stay put between refits, and a run does not join every purchase to derive
-- them. Sizes, spend and recency are counted on every run from one row per
-- customer (fct_customer_segments, int_customer_purchase_profiles).

with

fct_customer_segments as (
    select * from {{ ref('fct_customer_segments') }}
),

int_customer_purchase_profiles as (
    select * from {{ ref('int_customer_purchase_profiles') }}
),

int_segment_models as (
    select * from {{ ref('int_segment_models') }}
),

model_profiles as (
    select
        segment_model_id,
        {{ unnest_list('segment_profiles') }} as profile
    from int_segment_models
),

labels as (
    select
        model_profiles.segment_model_id,
        {{ struct_field('model_profiles.profile', 'segment_id') }} as segment_id,
        {{ struct_field('model_profiles.profile', 'segment_label') }} as segment_label,
        {{ struct_field('model_profiles.profile', 'top_terms') }} as top_terms,
        {{ struct_field('model_profiles.profile', 'top_products') }} as top_products
    from model_profiles
),

current_model as (
    select
        segment_model_id,
        fitted_at
    from int_segment_models
    order by fitted_at desc, segment_model_id desc
    limit 1
),

latest_purchase as (
    select max(last_purchased_at) as latest_purchased_at
    from int_customer_purchase_profiles
),

segment_members as (
    select
        fct_customer_segments.segment_id,
        fct_customer_segments.segment_model_id,
        fct_customer_segments.membership_strength,
        fct_customer_segments.is_noise,
        int_customer_purchase_profiles.total_amount,
        {{ date_diff_units(
            'day',
            'int_customer_purchase_profiles.last_purchased_at',
            'latest_purchase.latest_purchased_at',
            multiline=true
        ) }} as days_since_purchase
    from fct_customer_segments
    left join int_customer_purchase_profiles
        on fct_customer_segments.customer_id = int_customer_purchase_profiles.customer_id
    cross join latest_purchase
),

segment_sizes as (
    select
        segment_id,
        segment_model_id,
        count(*) as n_customers,
        count(*) filter (where is_noise) as n_noise_customers,
        avg(membership_strength) as avg_membership_strength,
        {{ median_interpolated('total_amount') }} as median_spend,
        {{ median_interpolated('days_since_purchase') }} as median_days_since_purchase
    from segment_members
    group by segment_id, segment_model_id
),

final as (
    select
        segment_sizes.segment_id,
        segment_sizes.segment_model_id,
        case
            when segment_sizes.segment_id = -1 then 'Unsegmented'
            else coalesce(labels.segment_label, 'Segment ' || segment_sizes.segment_id)
        end as segment_label,
        coalesce(labels.top_terms, {{ empty_list() }}) as top_terms,
        coalesce(labels.top_products, {{ empty_list() }}) as top_products,
        segment_sizes.n_customers,
        {{ round_double('segment_sizes.n_customers / sum(segment_sizes.n_customers) over ()', 6) }} as customer_share,
        segment_sizes.n_noise_customers,
        {{ round_double('segment_sizes.avg_membership_strength', 6) }} as avg_membership_strength,
        {{ round_double('segment_sizes.median_spend', 2) }} as median_spend,
        segment_sizes.median_days_since_purchase,
        -- one line a marketer can read
        {{ format_text(
            '{:,} customers ({:.1f}%), median spend {:,.2f}, median {} days since the last purchase{}',
            [
                'segment_sizes.n_customers',
                '100 * segment_sizes.n_customers / sum(segment_sizes.n_customers) over ()',
                'coalesce(segment_sizes.median_spend, 0)',
                'coalesce(' ~ to_text(double_to_bigint('segment_sizes.median_days_since_purchase')) ~ ", '-')",
                'case\n                when ' ~ list_length('coalesce(labels.top_products, ' ~ empty_list() ~ ')')
                ~ " > 0\n                    then '; most distinctive: ' || "
                ~ list_join('labels.top_products', "'; '")
                ~ "\n                else ''\n            end"
            ]
        ) }} as segment_profile,
        segment_sizes.segment_id = -1 as is_noise,
        current_model.fitted_at as model_fitted_at
    from segment_sizes
    left join labels
        on
            segment_sizes.segment_id = labels.segment_id
            and segment_sizes.segment_model_id = labels.segment_model_id
    left join current_model
        on segment_sizes.segment_model_id = current_model.segment_model_id
)

select * from final
