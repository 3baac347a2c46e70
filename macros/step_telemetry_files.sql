{#
    Why: the Python steps leave one JSON report per step per run beside the
    warehouse file (`<dir>/<stem>.telemetry/`, see
    holdfast.infrastructure.step_telemetry); they cannot write rows while dbt
    streams their output. This selects those reports, or an empty set of the
    same shape when there are none yet (DuckDB's readers fail on an empty
    glob). Only complete reports are read: the writer writes `.tmp-*.json` and
    renames it, so a write cut short by a kill or a full disk leaves a hidden
    temp file, skipped here; a final file whose data never reached the disk
    (empty or truncated after a power loss) is not valid JSON and is skipped
    too. Either would otherwise fail every later build. The folder comes from
    DuckDB itself (the current database's file), so nothing from vars or input
    reaches the SQL literal.
    On Spark there are no reports to read (the Spark branches of the Python
    models write none, and the reports of a DuckDB build are files beside
    DuckDB's warehouse): the empty set of the same shape.
#}
{% macro step_telemetry_files() -%}
    {{ return(adapter.dispatch('step_telemetry_files', 'holdfast')()) }}
{%- endmacro %}

{% macro default__step_telemetry_files() -%}
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
            report.run_id,
            report.step,
            report.status,
            report.rows,
            report.batches,
            report.expected_rows,
            report.wall_seconds,
            report.cpu_seconds,
            report.start_rss_mb,
            report.peak_rss_mb,
            report.started_at,
            report.ended_at,
            report.error
        from (
            select
                -- case, not where: a filter alone does not keep from_json off
                -- the rows it would reject
                case
                    when
                        not starts_with(parse_filename(filename), '.')
                        and json_valid(content)
                        and json_type(content) = 'OBJECT'
                        then from_json(
                            content,
                            '{"run_id": "VARCHAR", "step": "VARCHAR", "status": "VARCHAR", '
                            || '"rows": "BIGINT", "batches": "BIGINT", "expected_rows": "BIGINT", '
                            || '"wall_seconds": "DOUBLE", "cpu_seconds": "DOUBLE", '
                            || '"start_rss_mb": "DOUBLE", "peak_rss_mb": "DOUBLE", '
                            || '"started_at": "TIMESTAMPTZ", "ended_at": "TIMESTAMPTZ", '
                            || '"error": "VARCHAR"}'
                        )
                end as report
            from read_text('{{ pattern }}')
        )
        where report.run_id is not null and report.step is not null
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

{% macro spark__step_telemetry_files() -%}
    select
        cast(null as string) as run_id,
        cast(null as string) as step,
        cast(null as string) as status,
        cast(null as bigint) as rows,
        cast(null as bigint) as batches,
        cast(null as bigint) as expected_rows,
        cast(null as double) as wall_seconds,
        cast(null as double) as cpu_seconds,
        cast(null as double) as start_rss_mb,
        cast(null as double) as peak_rss_mb,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at,
        cast(null as string) as error
    where false
{%- endmacro %}
