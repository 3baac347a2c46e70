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
    drop after the commit. SQL models keep DuckDB's temporary tables, and
    MotherDuck keeps dbt-duckdb's own handling (a unique table in a
    temporary schema), so only the Python case differs from the adapter's
    macro of the same name.
#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {% if adapter.is_motherduck() %}
        {% set relation = target_relation.incorporate(
            path=adapter.get_temp_relation_path(target_relation, batch_id)
        ) %}
        {% do run_query(create_schema(relation)) %}
        {% if not adapter.disable_transactions() %}
            {% do adapter.commit() %}
        {% endif %}
        {% do return({'relation': relation, 'temporary': false}) %}
    {% endif %}
    {% do return({
        'relation': make_temp_relation(target_relation),
        'temporary': model.language != 'python'
    }) %}
{% endmacro %}
