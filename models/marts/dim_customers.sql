-- One row per customer (latest valid profile wins): purchase summary, segment,
-- the batches that delivered them, and whether they are recommended to, or
-- why not. The only table that holds e-mails.
--
-- recommendation_status, the first that applies:
--   dead_lettered            the customer's latest scoring failed; the record
--                            waits in ops_dead_letter_queue (retried, or
--                            exhausted)
--   no_purchases             nothing to recommend from
--   not_scored               purchases, but no scoring yet
--   no_candidates            scored, but the scorer found no candidate
--   all_candidates_rejected  every candidate broke a business rule;
--                            rejected_most_by names the rule that was the
--                            first broken of the most candidates (ties: the
--                            earlier rule in recommendation_rules)
--   recommended              at least one row in fct_recommendations
--
-- Incremental per customer: a run rewrites the customers whose profile,
-- purchases or segment assignment were written since its last run (their
-- refreshed_at / processed_at is later than this table's newest
-- refreshed_at), or every customer when a segment's label changed (a refit)
-- or the table has no refreshed_at yet. Both are looked up before the
-- statement, so the inputs' row groups older than that are skipped.
-- Rebuilding all 2 million rows took 2.4 s of every run at 2 million
-- customers. Customers no longer current are deleted by the post-hook.
{{ config(
    materialized=incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=true),
    on_schema_change='append_new_columns',
    post_hook="{{ delete_customers_missing_from(ref('int_customers_current')) }}",
) }}

-- depends_on: {{ ref('int_customers_segmented') }}

{#- which customers this run rewrites: all of them on a first build, when a
    segment label changed, or when the table has no refreshed_at yet (built
    before it had one); otherwise those with inputs written since its newest
    refreshed_at, a constant -#}
{#- the rules' ids in order, from the one list of them; a counter per rule
    below (a fifth rule needs a fifth counter: the build says so) -#}
{% set rule_checks = recommendation_rule_checks() %}
{% if rule_checks | length != 4 %}
    {{ exceptions.raise_compiler_error(
        "dim_customers counts rejections for 4 business rules, recommendation_rule_checks() has "
        ~ rule_checks | length ~ ": add a counter per rule"
    ) }}
{% endif %}
{% set refresh_condition = namespace(sql='true') %}
{% if is_incremental() and execute %}
    {% set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    {% if 'refreshed_at' in columns and 'recommendation_status' in columns %}
        {% set labels_changed_sql %}
            select exists (
                select segment_id, segment_label from {{ ref('dim_segments') }}
                except
                select distinct segment_id, segment_label from {{ this }}
                where segment_id is not null
            )
        {% endset %}
        {% set refreshed_until = newest_value_literal(this, 'refreshed_at') %}
        {% if refreshed_until is not none and not run_query(labels_changed_sql).rows[0][0] %}
            {% set after = '> ' ~ refreshed_until %}
            {% set refresh_condition.sql %}
                int_customers_current.customer_id in (
                    select customer_id from {{ ref('int_customers_current') }} where refreshed_at {{ after }}
                    union
                    select customer_id from {{ ref('int_customer_purchase_profiles') }} where refreshed_at {{ after }}
                    union
                    select customer_id from {{ ref('int_customers_segmented') }} where processed_at {{ after }}
                    union
                    select customer_id from {{ ref('int_recommendations_scored') }} where processed_at {{ after }}
                    union
                    select customer_id from {{ ref('int_recommendation_candidates_checked') }} where checked_at {{ after }}
                )
            {% endset %}
        {% endif %}
    {% endif %}
{% endif %}

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

int_recommendations_scored as (
    select * from {{ ref('int_recommendations_scored') }}
),

int_recommendation_candidates_checked as (
    select * from {{ ref('int_recommendation_candidates_checked') }}
),

{#- every customer (a first build, a refit): no filter at all, not a
    semi-join on all 2 million of them, whose hash tables beside the
    aggregate over 60 million candidates ran out of memory -#}
{% set refresh_all = refresh_condition.sql == 'true' %}
{% if not refresh_all %}
customers_to_refresh as (
    select int_customers_current.customer_id
    from int_customers_current
    where {{ refresh_condition.sql }}
),
{% endif %}

-- the refreshed customers' checked candidates: how many, how many
-- recommended (as fct_recommendations counts them), and per business rule
-- (recommendation_rule_checks, in recommendation_rules order) how many broke
-- it first
rejection_counts as (
    select
        customer_id,
        count(*) as n_candidates,
        count(*) filter (
            where
            passes_rules
            and recommendation_rank <= {{ checked_var('recommendations_per_customer', min_value=1, max_value=1000) }}
        ) as n_recommendations,
        count(*) filter (where first_broken_rule_id = '{{ rule_checks[0].rule_id }}') as n_rejected_1,
        count(*) filter (where first_broken_rule_id = '{{ rule_checks[1].rule_id }}') as n_rejected_2,
        count(*) filter (where first_broken_rule_id = '{{ rule_checks[2].rule_id }}') as n_rejected_3,
        count(*) filter (where first_broken_rule_id = '{{ rule_checks[3].rule_id }}') as n_rejected_4
    from int_recommendation_candidates_checked
    {% if not refresh_all -%}
        where customer_id in (select customers_to_refresh.customer_id from customers_to_refresh)
    {%- endif %}
    group by customer_id
),

-- per customer, the rule that was the first broken of the most candidates
-- (ties: the earlier rule): one aggregate with a counter per rule, no
-- (customer, rule) groups and no window, which ran out of memory at 2
-- million customers
candidate_counts as (
    select
        customer_id,
        n_candidates,
        n_recommendations,
        case greatest(n_rejected_1, n_rejected_2, n_rejected_3, n_rejected_4)
            when n_rejected_1 then '{{ rule_checks[0].rule_id }}'
            when n_rejected_2 then '{{ rule_checks[1].rule_id }}'
            when n_rejected_3 then '{{ rule_checks[2].rule_id }}'
            else '{{ rule_checks[3].rule_id }}'
        end as top_rejection_rule_id
    from rejection_counts
),

final as (
    select
        int_customers_current.customer_id,
        int_customers_current.email,
        int_customers_current.first_batch_id,
        int_customers_current.latest_batch_id,
        fct_customer_segments.segment_id,
        dim_segments.segment_label,
        {{ contract_cast('coalesce(int_customer_purchase_profiles.n_purchases, 0)', 'hugeint') }} as n_purchases,
        coalesce(int_customer_purchase_profiles.n_products, 0) as n_products,
        coalesce(int_customer_purchase_profiles.total_amount, 0) as total_amount,
        fct_customer_segments.membership_strength,
        int_customers_current.created_at,
        int_customer_purchase_profiles.first_purchased_at,
        int_customer_purchase_profiles.last_purchased_at,
        case
            when int_recommendations_scored.status = 'failed' then 'dead_lettered'
            when coalesce(int_customer_purchase_profiles.n_purchases, 0) = 0 then 'no_purchases'
            when int_recommendations_scored.customer_id is null then 'not_scored'
            when coalesce(candidate_counts.n_candidates, 0) = 0 then 'no_candidates'
            when candidate_counts.n_recommendations = 0 then 'all_candidates_rejected'
            else 'recommended'
        end as recommendation_status,
        coalesce(candidate_counts.n_recommendations, 0) as n_recommendations,
        case
            when
                int_recommendations_scored.status = 'ok'
                and coalesce(int_customer_purchase_profiles.n_purchases, 0) > 0
                and candidate_counts.n_candidates > 0
                and candidate_counts.n_recommendations = 0
                then candidate_counts.top_rejection_rule_id
        end as rejected_most_by,
        {{ run_started_at_utc() }} as refreshed_at
    from int_customers_current
    left join int_customer_purchase_profiles
        on int_customers_current.customer_id = int_customer_purchase_profiles.customer_id
    left join fct_customer_segments
        on int_customers_current.customer_id = fct_customer_segments.customer_id
    left join dim_segments
        on fct_customer_segments.segment_id = dim_segments.segment_id
    left join int_recommendations_scored
        on int_customers_current.customer_id = int_recommendations_scored.customer_id
    left join candidate_counts
        on int_customers_current.customer_id = candidate_counts.customer_id
    {% if not refresh_all -%}
        where
            int_customers_current.customer_id
            in (select customers_to_refresh.customer_id from customers_to_refresh)
    {%- endif %}
)

select * from final
