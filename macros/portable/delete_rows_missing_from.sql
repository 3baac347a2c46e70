{#
    Why: an incremental model keyed by `key` only inserts or replaces rows;
    this post-hook deletes the rows whose key is no longer in `relation` (a
    product withdrawn from the catalog). Open-source Spark rebuilds these
    models as tables (incremental_by_key), so there is nothing stale to delete
    and Parquet tables cannot delete rows: a no-op statement there. On
    Databricks they are incremental Delta tables, which delete as DuckDB does.
#}
{% macro delete_rows_missing_from(key, relation) -%}
    {{ return(adapter.dispatch('delete_rows_missing_from', 'holdfast')(key, relation)) }}
{%- endmacro %}

{% macro default__delete_rows_missing_from(key, relation) -%}
    delete from {{ this }} where {{ key }} not in (select {{ key }} from {{ relation }})
{%- endmacro %}

{% macro spark__delete_rows_missing_from(key, relation) -%}
    select 1 as nothing_to_delete
{%- endmacro %}

{#- dbt-databricks dispatches databricks__ before spark__: Delta deletes as DuckDB does -#}
{% macro databricks__delete_rows_missing_from(key, relation) -%}
    {{ return(default__delete_rows_missing_from(key, relation)) }}
{%- endmacro %}
