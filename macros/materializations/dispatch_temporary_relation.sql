{#
    Why: dbt-duckdb's incremental materialization stages a model's new rows
    in a relation it marks temporary and never drops, trusting DuckDB to drop
    temporary tables when the connection closes. A Python model's rows are
    written by `py_write_table`, which creates an ordinary table whatever the
    flag says, so every incremental run of a Python model would leave a
    `<model>__dbt_tmp<timestamp>` table behind in the warehouse's `main`
    schema: the catalog, the file and every later run's listing grow without
    bound. A Python model's staging relation is therefore declared not
    temporary, which puts it on the materialization's list of relations to
    drop after the commit. Everything else is the adapter's own macro of the
    same name (SQL models keep DuckDB's temporary tables; MotherDuck its
    unique table in a temporary schema).
#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {% set staged = dbt.duckdb__dispatch_temporary_relation(target_relation, batch_id) %}
    {% if model.language == 'python' and staged.temporary %}
        {% do return({'relation': staged.relation, 'temporary': false}) %}
    {% endif %}
    {% do return(staged) %}
{% endmacro %}
