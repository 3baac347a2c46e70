{#
    Why: the marts declare not-null and primary-key constraints (enforced on
    DuckDB, informational on Delta). dbt-spark adds them whenever no
    file_format is configured, assuming Delta; open-source Spark's tables
    (parquet) cannot hold them. They are added only to tables declared
    `file_format: delta`.
#}
{% macro spark__persist_constraints(relation, model) %}
  {%- set contract_config = config.get('contract') -%}
  {% if contract_config.enforced and config.get('file_format') == 'delta' %}
    {% do alter_table_add_constraints(relation, model.constraints) %}
    {% do alter_column_set_constraints(relation, model.columns) %}
  {% endif %}
{% endmacro %}
