-- Every customer of dim_customers is either recommended to or told why not:
-- a status is set, 'recommended' exactly when fct_recommendations holds rows
-- for the customer, n_recommendations equals those rows (counted here from
-- fct_recommendations itself), and rejected_most_by names a rule exactly
-- when every candidate was rejected. Checked on the rows the latest run
-- wrote (refreshed_at), as the mart's other tests: the rows it kept are
-- those whose inputs did not change. Returns the customers where that does
-- not hold.

with

dim_customers as (
    select * from {{ ref('dim_customers') }}
),

fct_recommendations as (
    select * from {{ ref('fct_recommendations') }}
),

latest_customers as (
    select
        customer_id,
        recommendation_status,
        n_recommendations,
        rejected_most_by
    from dim_customers
    where refreshed_at = (select max(newest.refreshed_at) from dim_customers as newest)
),

recommended_rows as (
    select
        customer_id,
        count(*) as n_rows
    from fct_recommendations
    where customer_id in (select latest_customers.customer_id from latest_customers)
    group by customer_id
),

final as (
    select
        latest_customers.customer_id,
        latest_customers.recommendation_status,
        latest_customers.n_recommendations,
        coalesce(recommended_rows.n_rows, 0) as rows_in_fct_recommendations,
        latest_customers.rejected_most_by
    from latest_customers
    left join recommended_rows
        on latest_customers.customer_id = recommended_rows.customer_id
    where
        latest_customers.recommendation_status is null
        or (latest_customers.recommendation_status = 'recommended')
        <> (coalesce(recommended_rows.n_rows, 0) > 0)
        or latest_customers.n_recommendations <> coalesce(recommended_rows.n_rows, 0)
        or (latest_customers.recommendation_status = 'all_candidates_rejected')
        <> (latest_customers.rejected_most_by is not null)
)

select * from final
