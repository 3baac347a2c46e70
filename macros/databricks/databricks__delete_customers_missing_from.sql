{#
    Why: on Databricks the per-customer models are incremental Delta tables,
    so a customer that a re-delivered batch withdrew must be deleted, as on
    DuckDB. Delta's DELETE takes one `not in` subquery (not nested ones), so
    every customer of this table is checked; `held_by`, DuckDB's way to skip
    row groups, is not used (Delta skips files by their statistics).
#}
{% macro databricks__delete_customers_missing_from(relation, condition='true', held_by=none) -%}
    delete from {{ this }}
    where customer_id not in (
        select customer_id from {{ relation }} where {{ condition }}
    )
{%- endmacro %}
