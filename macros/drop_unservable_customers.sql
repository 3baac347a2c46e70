{#
    Why: recommendation tables are incremental per customer, so a customer
    whose latest scoring failed (a pending dead letter) or who is no longer in
    any batch would keep stale rows. This post-hook removes them; it reads two
    per-customer tables, never the candidates themselves.
#}
{% macro drop_unservable_customers() -%}
    delete from {{ this }}
    where
        customer_id in (
            select customer_id from {{ ref('int_recommendations_scored') }}
            where status <> 'ok'
        )
        or customer_id not in (
            select customer_id from {{ ref('int_customers_current') }}
        )
{%- endmacro %}
