-- One row per customer with a segment assignment: segment (-1 = noise: the
-- model could not place them, or they have no purchase with an embedding),
-- membership strength in 0..1, the model and run that assigned it.

with

int_customers_segmented as (
    select * from {{ ref('int_customers_segmented') }}
),

final as (
    select
        customer_id,
        segment_id,
        segment_model_id,
        run_id,
        membership_strength,
        is_noise,
        processed_at as assigned_at
    from int_customers_segmented
    where status = 'ok'
)

select * from final
