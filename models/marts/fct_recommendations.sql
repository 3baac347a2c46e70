-- One row per (customer, recommended product): the candidates that pass every
-- business rule, re-ranked 1..recommendations_per_customer (1 = best; ties by
-- product_id). run_id / generated_at: the run that scored the customer.

with

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

accepted as (
    select
        *,
        row_number() over (
            partition by customer_id order by candidate_rank, product_id
        ) as recommendation_rank
    from int_recommendation_candidates_checked
    where passes_rules
),

final as (
    select
        customer_id,
        product_id,
        recommendation_rank as rank,
        segment_id,
        segment_model_id,
        run_id,
        embedding_model_version,
        recommender_version,
        confidence,
        predicted_value,
        similarity,
        segment_affinity,
        popularity,
        generated_at
    from accepted
    where recommendation_rank <= {{ checked_var('recommendations_per_customer', min_value=1, max_value=1000) }}
)

select * from final
