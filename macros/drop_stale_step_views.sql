{#
    Why: a Python step names its inputs with temporary views; a warehouse
    whose steps were built with DuckDB's relation.create_view holds them as
    persistent `main.hf_*` views that nothing uses, and the published snapshot
    shows them to analysts. This run-start hook drops those. It drops only
    what the steps made: a view in
    `main` named hf_... whose SQL wraps a relation the way create_view does
    (`unnamed_relation_`); a view of the same name written by a person stays.
    A no-op statement off DuckDB.
#}
{% macro drop_stale_step_views() -%}
    {%- set drops = [] -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set found = run_query(
            "select view_name from duckdb_views()"
            ~ " where database_name = current_database() and schema_name = 'main'"
            ~ " and not temporary and not internal"
            ~ " and starts_with(view_name, 'hf_')"
            ~ " and contains(sql, ') AS unnamed_relation_')"
            ~ " order by view_name"
        ) -%}
        {%- for row in found.rows -%}
            {%- do drops.append('drop view if exists main."' ~ row[0] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
    {{ drops | join(';\n') if drops else 'select 1' }}
{%- endmacro %}
