-- One row per current customer with a segment assignment: segment (the
-- nearest one for a customer HDBSCAN leaves as noise, is_noise true; -1 when
-- nothing places them: no purchase of a product the model knows, or no model),
-- membership strength in 0..1, the model and run that assigned it.
-- Customers no longer in any batch (their batch was re-delivered without
-- them) are left out: the inference tables may still hold their old rows.

with

int_customers_segmented as (
    select * from {{ ref('int_customers_segmented') }}
),

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

final as (
    select
        int_customers_segmented.customer_id,
        int_customers_segmented.segment_id,
        int_customers_segmented.segment_model_id,
        int_customers_segmented.run_id,
        int_customers_segmented.membership_strength,
        int_customers_segmented.is_noise,
        int_customers_segmented.processed_at as assigned_at
    from int_customers_segmented
    inner join int_customers_current
        on int_customers_segmented.customer_id = int_customers_current.customer_id
    where int_customers_segmented.status = 'ok'
)

select * from final
