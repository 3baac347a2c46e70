-- One row per (customer, recommended product): the candidates that pass every
-- business rule, ranked 1..recommendations_per_customer (1 = best; ties by
-- product_id). run_id / generated_at: the run that scored the customer.
-- A view: int_recommendation_candidates_checked is incremental per customer
-- and already holds the rank, so a table would copy tens of millions of rows
-- every run at scale.
{{ config(materialized='view') }}

with

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

final as (
    select
        customer_id,
        product_id,
        recommendation_rank as rank,
        segment_id,
        segment_model_id,
        run_id,
        recommender_version,
        confidence,
        predicted_value,
        copurchase,
        similarity,
        segment_affinity,
        popularity,
        generated_at
    from int_recommendation_candidates_checked
    where
        passes_rules
        and recommendation_rank <= {{ checked_var('recommendations_per_customer', min_value=1, max_value=1000) }}
)

select * from final
