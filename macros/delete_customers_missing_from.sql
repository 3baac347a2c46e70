{#
    Why: incremental per-customer models only insert or replace customers; a
    re-delivered batch can also make a customer disappear. This post-hook
    deletes the rows of customers no longer present in `relation` (filtered
    by `condition`).
#}
{% macro delete_customers_missing_from(relation, condition='true') -%}
    {{ return(adapter.dispatch('delete_customers_missing_from', 'holdfast')(relation, condition)) }}
{%- endmacro %}

{% macro default__delete_customers_missing_from(relation, condition='true') -%}
    delete from {{ this }}
    where customer_id not in (
        select customer_id from {{ relation }} where {{ condition }}
    )
{%- endmacro %}
