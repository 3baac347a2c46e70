-- One row per customer (latest valid profile wins): purchase summary, segment,
-- and the batches that delivered them. The only table that holds e-mails.

with

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
),

fct_customer_segments as (
    select * from {{ ref('fct_customer_segments') }}
),

dim_segments as (
    select * from {{ ref('dim_segments') }}
),

purchase_summary as (
    select
        customer_id,
        count(*) as n_purchases,
        count(distinct product_id) as n_products,
        sum(amount) as total_amount,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at
    from int_purchases_deduplicated
    group by customer_id
),

final as (
    select
        int_customers_current.customer_id,
        int_customers_current.email,
        int_customers_current.first_batch_id,
        int_customers_current.latest_batch_id,
        fct_customer_segments.segment_id,
        dim_segments.segment_label,
        coalesce(purchase_summary.n_purchases, 0) as n_purchases,
        coalesce(purchase_summary.n_products, 0) as n_products,
        round(coalesce(purchase_summary.total_amount, 0), 2) as total_amount,
        fct_customer_segments.membership_strength,
        int_customers_current.created_at,
        purchase_summary.first_purchased_at,
        purchase_summary.last_purchased_at
    from int_customers_current
    left join purchase_summary
        on int_customers_current.customer_id = purchase_summary.customer_id
    left join fct_customer_segments
        on int_customers_current.customer_id = fct_customer_segments.customer_id
    left join dim_segments
        on fct_customer_segments.segment_id = dim_segments.segment_id
)

select * from final
