{#
    Why: dbt's is_incremental() is true only for materialized='incremental';
    a batched_incremental model is incremental the same way (an existing
    table, no --full-refresh), and its SQL reads is_incremental() as any
    incremental model does. dbt's own macro, with that materialization added.
#}
{% macro is_incremental() %}
    {#-- do not run introspective queries in parsing #}
    {% if not execute %}
        {{ return(False) }}
    {% else %}
        {% set relation = adapter.get_relation(this.database, this.schema, this.table) %}
        {{ return(relation is not none
                  and relation.type == 'table'
                  and model.config.materialized in ['incremental', 'batched_incremental']
                  and not should_full_refresh()) }}
    {% endif %}
{% endmacro %}
