-- One row per customer (latest valid profile wins): purchase summary, segment,
-- and the batches that delivered them. The only table that holds e-mails.

with

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

int_customer_purchase_profiles as (
    select * from {{ ref('int_customer_purchase_profiles') }}
),

fct_customer_segments as (
    select * from {{ ref('fct_customer_segments') }}
),

dim_segments as (
    select * from {{ ref('dim_segments') }}
),

final as (
    select
        int_customers_current.customer_id,
        int_customers_current.email,
        int_customers_current.first_batch_id,
        int_customers_current.latest_batch_id,
        fct_customer_segments.segment_id,
        dim_segments.segment_label,
        coalesce(int_customer_purchase_profiles.n_purchases, 0) as n_purchases,
        coalesce(int_customer_purchase_profiles.n_products, 0) as n_products,
        coalesce(int_customer_purchase_profiles.total_amount, 0) as total_amount,
        fct_customer_segments.membership_strength,
        int_customers_current.created_at,
        int_customer_purchase_profiles.first_purchased_at,
        int_customer_purchase_profiles.last_purchased_at
    from int_customers_current
    left join int_customer_purchase_profiles
        on int_customers_current.customer_id = int_customer_purchase_profiles.customer_id
    left join fct_customer_segments
        on int_customers_current.customer_id = fct_customer_segments.customer_id
    left join dim_segments
        on fct_customer_segments.segment_id = dim_segments.segment_id
)

select * from final
