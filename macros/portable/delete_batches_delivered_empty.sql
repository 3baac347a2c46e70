{#
    Why: a batch is withdrawn by re-delivering its file empty. Staging then
    holds the batch's marker row only (line_number null), and a model built
    from the batch's lines computes no row for it, so delete+insert on
    batch_id, which replaces the keys a run computed, would keep the rows of
    the batch's previous delivery. This post-hook of a model incremental by
    batch_id deletes the rows of every batch that `staging` holds as an empty
    file, as a rebuild would have none. The marker row keeps the re-delivery's
    ingested_at, so the current-state models still see the batch as ingested
    again (macro customers_in_batches_ingested_since_last_run reads staging).
    Open-source Spark rebuilds these models as tables: a no-op statement there.
#}
{% macro delete_batches_delivered_empty(staging) -%}
    {{ return(adapter.dispatch('delete_batches_delivered_empty', 'holdfast')(staging)) }}
{%- endmacro %}

{% macro default__delete_batches_delivered_empty(staging) -%}
    delete from {{ this }}
    where batch_id in (select batch_id from {{ staging }} where line_number is null)
{%- endmacro %}

{% macro spark__delete_batches_delivered_empty(staging) -%}
    select 1 as nothing_to_delete
{%- endmacro %}

{#- dbt-databricks dispatches databricks__ before spark__: Delta deletes as DuckDB does -#}
{% macro databricks__delete_batches_delivered_empty(staging) -%}
    {{ return(default__delete_batches_delivered_empty(staging)) }}
{%- endmacro %}
