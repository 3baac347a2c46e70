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
--
-- One statement, shaped for 60 million candidates at 2 million customers:
-- the rules are evaluated on narrow rows (four fields of each candidate, the
-- customer's purchased products from the purchase profile: one row per
-- customer, not ten purchase rows) into a bit mask per candidate; per
-- customer, the masks in candidate_rank order and the ranks of the passing
-- candidates are gathered as small integer lists; the wide rows are unnested
-- once, and each candidate reads its mask at its own rank and its place among
-- the passing candidates with list_position. candidate_rank runs 1..n in each
-- scored list (the scorer's contract, tested in test_steps). (Searching the
-- list of failures with a lambda per candidate cost 60% of the statement:
-- with min_confidence 0.55 four candidates in five break a rule.)
-- The join order is fixed (fixed_join_order pre-hook): every join's build side
-- is the narrow or small one as written. DuckDB's estimates for filtered
-- scans are far too low, and it chose to build hash tables of the wide scored
-- rows, which ran out of memory.

{{ config(
    materialized=incremental_by_key(),
    unique_key='customer_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=false),
    on_schema_change='append_new_columns',
    pre_hook="{{ fixed_join_order() }}",
    post_hook=["{{ default_join_order() }}", "{{ drop_unservable_customers() }}"],
) }}

{#- the fingerprint of the rules' inputs: stock of the current catalog,
    min_confidence and the value range -#}
{% set rules_inputs_sql %}
select
    md5(
        coalesce(
            {{ string_agg_ordered("product_id || ':' || " ~ to_text('is_in_stock'), "','", 'product_id') }},
            ''
        )
        || '|{{ checked_var('min_confidence', min_value=0, max_value=1) }}'
        || '|{{ checked_var('predicted_value_min') }}'
        || '|{{ checked_var('predicted_value_max') }}'
    ) as rules_fingerprint
from {{ ref('int_products_current') }}
{% endset %}

{#- the business rules, in recommendation_rules order -#}
{% set rule_checks = recommendation_rule_checks() %}

{#- the scorings this run checks: on an incremental run those newer than the
    last check, or all when the rules' inputs changed; on a first build all.
    Both are looked up before the statement, so the condition on processed_at
    is a constant DuckDB can check against each row group's range and skip
    the old ones (a subquery there read the 2 million scored rows' candidate
    lists on every run: 2 s at 2 million customers) -#}
{% set to_check_condition = 'true' %}
{% if is_incremental() and execute %}
    {% set rules_changed_sql %}
        select
            (select rules_fingerprint from ({{ rules_inputs_sql }}) as rules_inputs)
            is distinct from (select any_value(rules_fingerprint) from {{ this }})
    {% endset %}
    {% set checked_until = newest_value_literal(this, 'generated_at') %}
    {% if checked_until is not none and not run_query(rules_changed_sql).rows[0][0] %}
        {% set to_check_condition = 'processed_at > ' ~ checked_until %}
    {% endif %}
{% endif %}

{#- the scorings this run checks. Read three times (the customers, the narrow
    candidate fields, the wide rows) straight from the tables, not through an
    import CTE: DuckDB materialises a CTE read more than once, and 2 million
    scored rows of 30 candidates spilled 9 GB to disk -#}
{% set scored_to_check_sql %}
select
    scored.customer_id,
    scored.segment_id,
    scored.segment_model_id,
    scored.recommender_version,
    scored.run_id,
    scored.processed_at as generated_at,
    scored.candidates
from {{ ref('int_recommendations_scored') }} as scored
where
    scored.status = 'ok'
    and ({{ to_check_condition }})
    -- customers no longer in any batch are not recommended to
    and scored.customer_id
    in (select current_customers.customer_id from {{ ref('int_customers_current') }} as current_customers)
{% endset %}

with

int_customer_purchase_profiles as (
    select * from {{ ref('int_customer_purchase_profiles') }}
),

int_products_current as (
    select * from {{ ref('int_products_current') }}
),

recommendation_rules as (
    select * from {{ ref('recommendation_rules') }}
),

rules_inputs as (
    {{ rules_inputs_sql }}
),

customers_to_check as (
    select scored.customer_id from ({{ scored_to_check_sql }}) as scored
),

-- each checked customer's purchased products
purchased as (
    select
        int_customer_purchase_profiles.customer_id,
        int_customer_purchase_profiles.product_ids
    from int_customer_purchase_profiles
    where
        int_customer_purchase_profiles.customer_id
        in (select customers_to_check.customer_id from customers_to_check)
),

-- the fields the rules read, one row per candidate; "already purchased" is
-- looked up per customer before the unnest (a join after it fetched the
-- purchased list 60 million times: 4x slower at 2 million customers)
-- (sqlfluff reads a lambda's parameter as a table: RF01 is off for the lambda)
candidate_facts as (
    select  -- noqa: disable=RF01
        scored.customer_id,
        -- recursive unnest expands the struct fields into columns
        {%- set already_purchased -%}
            coalesce(
                        {{ list_contains('purchased.product_ids', 'candidate.product_id') }}, false
                    )
        {%- endset %}
        {{ unnest_transformed_structs('scored.candidates', 'candidate', {
            'product_id': 'candidate.product_id',
            'candidate_rank': 'candidate.candidate_rank',
            'confidence': 'candidate.confidence',
            'predicted_value': 'candidate.predicted_value',
            'already_purchased': already_purchased | trim,
        }) }}
    from ({{ scored_to_check_sql }}) as scored  -- noqa: enable=RF01
    left join purchased
        on scored.customer_id = purchased.customer_id
),

-- each candidate's broken rules as bits (bit i: the i-th rule of
-- rule_checks), narrow rows
candidate_failures as (
    select
        candidate_facts.customer_id,
        candidate_facts.candidate_rank,
        {{ rule_mask(rule_checks) }} as failed_mask
    from candidate_facts
    left join int_products_current
        on candidate_facts.product_id = int_products_current.product_id
),

-- per customer, the broken-rule bits of every candidate in candidate_rank
-- order (candidate_rank runs 1..n, so a candidate finds its own by its rank)
-- and the ranks of the candidates that pass: small integers, not lists of
-- strings, so the join of the wide rows builds a small table
checks_per_customer as (
    select
        customer_id,
        {{ list_ordered('failed_mask', 'candidate_rank') }} as failed_masks,
        coalesce(
            {{ list_ordered('candidate_rank', 'candidate_rank', where='failed_mask = 0') }}, {{ empty_list() }}
        ) as passing_ranks
    from candidate_failures
    group by customer_id
),

candidates as (
    select
        {{ star_except('scored', ['candidates']) }},
        checks_per_customer.failed_masks,
        checks_per_customer.passing_ranks,
        -- recursive unnest expands the struct fields into columns
        {{ unnest_struct_list('scored.candidates') }}  -- noqa: AL03
    from ({{ scored_to_check_sql }}) as scored
    left join checks_per_customer
        on scored.customer_id = checks_per_customer.customer_id
),

-- a candidate's broken rules by name, and its place among the passing
-- candidates: list lookups by position, no per-candidate search
candidates_checked as (
    select
        {{ star_except('candidates', ['failed_masks', 'passing_ranks']) }},
        {{ list_compact(rule_names_from_mask(
            list_item('candidates.failed_masks', 'candidates.candidate_rank'), rule_checks
        )) }} as failed_rules,
        {{ list_position('candidates.passing_ranks', 'candidates.candidate_rank') }} as rank_if_passing
    from candidates
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
        case
            when {{ list_length('candidates_checked.failed_rules') }} = 0
                then candidates_checked.rank_if_passing
        end as recommendation_rank,
        candidates_checked.confidence,
        candidates_checked.predicted_value,
        candidates_checked.copurchase,
        candidates_checked.similarity,
        candidates_checked.segment_affinity,
        candidates_checked.popularity,
        candidates_checked.failed_rules,
        {{ list_length('candidates_checked.failed_rules') }} = 0 as passes_rules,
        rules_inputs.rules_fingerprint,
        candidates_checked.generated_at,
        -- when this check ran: a recheck after the rules' inputs changed
        -- keeps generated_at (the scoring) but changes the outcome, and
        -- dim_customers refreshes a customer's recommendation status by it
        {{ run_started_at_utc() }} as checked_at
    from candidates_checked
    -- one row; a scalar subquery per row cost 20% more at 2 million customers
    cross join rules_inputs
    left join recommendation_rules
        on {{ list_item('candidates_checked.failed_rules', 1) }} = recommendation_rules.rule_id
)

select * from final
