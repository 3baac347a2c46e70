-- One row per recommendation candidate of the latest scoring of each customer,
-- with every business rule it breaks (empty list = passes), the first broken
-- rule (in recommendation_rules order) and the rank among the candidates that
-- pass. Rules are evaluated against the current catalog and purchases, not
-- the scorer's view.
--
-- failed_rules lists the broken rules in rule_order (the seed
-- recommendation_rules; a singular test checks the two agree), so the first
-- broken rule is its first element.
--
-- Incremental per customer: a run checks the customers scored since the last
-- check, or everyone when the rules' inputs changed (stock of the current
-- catalog, min_confidence, the value range): rules_fingerprint says which.
-- Run per bucket of customers (macro in_customer_buckets): a full check at 2
-- million customers is 60 million candidates, whose joins and ranking spilled
-- more than 50 GB to disk as one statement; per bucket they stay bounded by
-- check_bucket_customers. An incremental run sizes its buckets by the
-- customers it checks (customers_to_check), so a small run is one statement.

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    post_hook=["{{ drop_unservable_customers() }}", "{{ drop_bucket_scratch() }}"],
) }}

{#- the fingerprint of the rules' inputs: stock of the current catalog,
    min_confidence and the value range -#}
{% set rules_inputs_sql %}
select
    md5(
        coalesce(
            string_agg(
                product_id || ':' || is_in_stock::varchar, ',' order by product_id
            ),
            ''
        )
        || '|{{ checked_var('min_confidence', min_value=0, max_value=1) }}'
        || '|{{ checked_var('predicted_value_min') }}'
        || '|{{ checked_var('predicted_value_max') }}'
    ) as rules_fingerprint
from {{ ref('int_products_current') }}
{% endset %}

{#- the scorings this run checks: on an incremental run those newer than the
    last check, or all when the rules' inputs changed (reads the CTE
    rules_inputs); on a first build all -#}
{% set to_check_condition = (
    "processed_at > (select coalesce(max(generated_at), '-infinity'::timestamptz) from " ~ this ~ ")"
    ~ " or (select rules_fingerprint from rules_inputs)"
    ~ " is distinct from (select any_value(rules_fingerprint) from " ~ this ~ ")"
) if is_incremental() else 'true' %}

{#- the customers this run checks: the model's CTE customers_to_check, and
    what in_customer_buckets sizes its buckets by on an incremental run -#}
{% set customers_to_check_sql %}
select customer_id
from {{ ref('int_recommendations_scored') }}
where
    __HOLDFAST_CUSTOMER_BUCKET__
    and ({{ to_check_condition }})
{% endset %}

{% set checked_sql %}
with

int_recommendations_scored as (
    select * from {{ ref('int_recommendations_scored') }}
    where __HOLDFAST_CUSTOMER_BUCKET__
),

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

int_purchases_deduplicated as (
    select * from {{ ref('int_purchases_deduplicated') }}
    where __HOLDFAST_CUSTOMER_BUCKET__
),

int_customers_current as (
    select * from {{ ref('int_customers_current') }}
),

recommendation_rules as (
    select * from {{ ref('recommendation_rules') }}
),

rules_inputs as (
    {{ rules_inputs_sql }}
),

scored_to_check as (
    select int_recommendations_scored.*
    from int_recommendations_scored
    where {{ to_check_condition }}
),

-- the same customers, read apart from the candidate lists (a CTE read twice
-- may be materialised whole)
customers_to_check as (
    {{ customers_to_check_sql }}
),

candidates as (
    select
        customer_id,
        segment_id,
        segment_model_id,
        recommender_version,
        run_id,
        processed_at as generated_at,
        -- recursive unnest expands the struct fields into columns
        unnest(candidates, recursive := true)  -- noqa: AL03
    from scored_to_check
    where
        status = 'ok'
        -- customers no longer in any batch are not recommended to
        and customer_id in (select int_customers_current.customer_id from int_customers_current)
),

purchased_products as (
    select distinct
        int_purchases_deduplicated.customer_id,
        int_purchases_deduplicated.product_id
    from int_purchases_deduplicated
    where
        int_purchases_deduplicated.customer_id
        in (select customers_to_check.customer_id from customers_to_check)
),

candidates_checked as (
    select
        candidates.*,
        {{ list_compact([
            "case when int_products_current.product_id is null or not int_products_current.is_in_stock then 'in_stock' end",
            "case when candidates.confidence < " ~ checked_var('min_confidence', min_value=0, max_value=1) ~ " then 'confidence_threshold' end",
            "case when purchased_products.product_id is not null then 'not_already_purchased' end",
            "case when candidates.predicted_value is null or candidates.predicted_value < " ~ checked_var('predicted_value_min') ~ " or candidates.predicted_value > " ~ checked_var('predicted_value_max') ~ " then 'predicted_value_in_range' end",
        ]) }} as failed_rules
    from candidates
    left join int_products_current
        on candidates.product_id = int_products_current.product_id
    left join purchased_products
        on
            candidates.customer_id = purchased_products.customer_id
            and candidates.product_id = purchased_products.product_id
),

-- the rank among the candidates that pass, computed on narrow rows: a window
-- over the wide candidate rows (lists included) ran out of memory at 2M
pass_ranks as (
    select
        customer_id,
        product_id,
        row_number() over (
            partition by customer_id order by candidate_rank, product_id
        ) as recommendation_rank
    from candidates_checked
    where len(failed_rules) = 0
),

final as (
    select
        candidates_checked.customer_id,
        candidates_checked.product_id,
        candidates_checked.segment_id,
        candidates_checked.segment_model_id,
        candidates_checked.recommender_version,
        candidates_checked.run_id,
        recommendation_rules.rule_id as first_broken_rule_id,
        recommendation_rules.reason_when_broken as first_broken_rule_reason,
        candidates_checked.candidate_rank,
        pass_ranks.recommendation_rank,
        candidates_checked.confidence,
        candidates_checked.predicted_value,
        candidates_checked.copurchase,
        candidates_checked.similarity,
        candidates_checked.segment_affinity,
        candidates_checked.popularity,
        candidates_checked.failed_rules,
        len(candidates_checked.failed_rules) = 0 as passes_rules,
        (select rules_inputs.rules_fingerprint from rules_inputs) as rules_fingerprint,
        candidates_checked.generated_at
    from candidates_checked
    left join pass_ranks
        on
            candidates_checked.customer_id = pass_ranks.customer_id
            and candidates_checked.product_id = pass_ranks.product_id
    left join recommendation_rules
        on candidates_checked.failed_rules[1] = recommendation_rules.rule_id
)

select * from final
{% endset %}

{{ in_customer_buckets(
    checked_sql,
    ref('int_customers_current'),
    'check_bucket_customers',
    pending_customers_sql='with rules_inputs as (' ~ rules_inputs_sql ~ ') ' ~ customers_to_check_sql,
) }}
