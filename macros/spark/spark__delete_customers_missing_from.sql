{#
    Why: Spark targets rebuild the current-state models as tables (see
    incremental_by_key), so there are no stale customers to delete, and
    plain Spark tables cannot delete rows anyway. A no-op statement.
#}
{% macro spark__delete_customers_missing_from(relation, condition='true', held_by=none) -%}
    select 1 as nothing_to_delete
{%- endmacro %}
