{#
    Why: a re-delivered batch replaces its lines, and the new file can leave
    out a customer's line or make it invalid. The customers it touched are
    then not among the new records; they are found in `this` (a per-customer
    model with the column batch_ids: the batches of the customer's valid
    records) as those who had a record in a batch that `relation` ingested
    since this model's last refresh. When `this` has no batch_ids yet (built
    before the column existed) every customer of it counts as touched, once.
    Renders a subquery of customer ids.
#}
{% macro customers_in_batches_ingested_since_last_run(relation, timestamp_column='ingested_at') -%}
    {{ return(adapter.dispatch('customers_in_batches_ingested_since_last_run', 'holdfast')(relation, timestamp_column)) }}
{%- endmacro %}

{% macro default__customers_in_batches_ingested_since_last_run(relation, timestamp_column='ingested_at') -%}
    {%- set has_batch_ids = execute and 'batch_ids' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | list
    ) -%}
    select previous.customer_id
    from {{ this }} as previous
    {%- if has_batch_ids %}
    where
        previous.batch_ids is null
        or list_has_any(
            previous.batch_ids,
            (
                select coalesce(list(distinct batch_id), [])
                from {{ relation }}
                where {{ timestamp_column }} > (
                    select coalesce(max(refreshed_at), '-infinity'::timestamptz) from {{ this }}
                )
            )
        )
    {%- endif %}
{%- endmacro %}

{#- Spark (Databricks): the batches as one collect_set, overlapped with each
    customer's batch_ids (no nulls in either: arrays_overlap is true or false) -#}
{% macro spark__customers_in_batches_ingested_since_last_run(relation, timestamp_column='ingested_at') -%}
    {%- set has_batch_ids = execute and 'batch_ids' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | list
    ) -%}
    select previous.customer_id
    from {{ this }} as previous
    {%- if has_batch_ids %}
    where
        previous.batch_ids is null
        or arrays_overlap(
            previous.batch_ids,
            (
                select collect_set(batch_id)
                from {{ relation }}
                where {{ timestamp_column }} > (
                    select coalesce(max(refreshed_at), {{ earliest_timestamp() }}) from {{ this }}
                )
            )
        )
    {%- endif %}
{%- endmacro %}
