{#
    Why: recommendation tables are incremental per customer, so a customer
    whose latest scoring failed (a pending dead letter) or who is no longer in
    any batch would keep stale rows. This post-hook removes them. It finds them
    in two per-customer tables, never in the candidates themselves: the
    candidates' customers are scored customers (int_recommendations_scored
    keeps a row for every customer it ever scored), so the customers to drop
    are the scored ones that failed or left. The delete then looks up a set
    that is usually empty, which DuckDB answers without reading the 60
    million candidates (a `not in` over the candidates read them all: 0.8 s
    at 2 million customers). Open-source Spark rebuilds the recommendation
    tables from the servable scorings (incremental_by_key): a no-op statement
    there. On Databricks they are incremental Delta tables: the same delete,
    its customers found with a join (Delta's DELETE takes no nested subquery).
#}
{% macro drop_unservable_customers() -%}
    {{ return(adapter.dispatch('drop_unservable_customers', 'holdfast')()) }}
{%- endmacro %}

{% macro default__drop_unservable_customers() -%}
    delete from {{ this }}
    where customer_id in (
        select scored.customer_id
        from {{ ref('int_recommendations_scored') }} as scored
        where
            scored.status <> 'ok'
            or scored.customer_id not in (
                select current_customers.customer_id
                from {{ ref('int_customers_current') }} as current_customers
            )
    )
{%- endmacro %}

{% macro spark__drop_unservable_customers() -%}
    select 1 as nothing_to_drop
{%- endmacro %}

{% macro databricks__drop_unservable_customers() -%}
    delete from {{ this }}
    where customer_id in (
        select scored.customer_id
        from {{ ref('int_recommendations_scored') }} as scored
        left join {{ ref('int_customers_current') }} as current_customers
            on scored.customer_id = current_customers.customer_id
        where scored.status <> 'ok' or current_customers.customer_id is null
    )
{%- endmacro %}
