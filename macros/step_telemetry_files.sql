{#
    Why: the Python steps leave one JSON report per step per run beside the
    warehouse file (`<dir>/<stem>.telemetry/`, see
    holdfast.infrastructure.step_telemetry); they cannot write rows while dbt
    streams their output. This selects those reports, or an empty set of the
    same shape when there are none yet (read_json fails on an empty glob).
    The folder comes from DuckDB itself (the current database's file), so
    nothing from vars or input reaches the SQL literal.
#}
{% macro step_telemetry_files() -%}
    {%- set pattern = none -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select regexp_replace(path, '\\.[^./]*$', '') || '.telemetry/*.json' "
            ~ "from duckdb_databases() where database_name = current_database() and path is not null"
        ) -%}
        {%- if found.rows | length > 0 -%}
            {%- set candidate = found.columns[0].values()[0] | replace("'", "''") -%}
            {%- set n_files = run_query("select count(*) from glob('" ~ candidate ~ "')") -%}
            {%- if n_files.columns[0].values()[0] > 0 -%}
                {%- set pattern = candidate -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- if pattern is not none -%}
        select
            run_id,
            step,
            status,
            rows,
            batches,
            expected_rows,
            wall_seconds,
            cpu_seconds,
            start_rss_mb,
            peak_rss_mb,
            started_at,
            ended_at,
            error
        from read_json(
            '{{ pattern }}',
            columns = {
                run_id: 'varchar', step: 'varchar', status: 'varchar', rows: 'bigint',
                batches: 'bigint', expected_rows: 'bigint', wall_seconds: 'double',
                cpu_seconds: 'double', start_rss_mb: 'double', peak_rss_mb: 'double',
                started_at: 'timestamptz', ended_at: 'timestamptz', error: 'varchar'
            }
        )
    {%- else -%}
        select
            null::varchar as run_id,
            null::varchar as step,
            null::varchar as status,
            null::bigint as rows,
            null::bigint as batches,
            null::bigint as expected_rows,
            null::double as wall_seconds,
            null::double as cpu_seconds,
            null::double as start_rss_mb,
            null::double as peak_rss_mb,
            null::timestamptz as started_at,
            null::timestamptz as ended_at,
            null::varchar as error
        where false
    {%- endif -%}
{%- endmacro %}
