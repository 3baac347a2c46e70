{#
    Why: DuckDB's read_blob() fails outright when a glob matches nothing, and a
    landing folder with no products yet is a normal state, not a crash. This
    selects the landing files behind a source (filename, content, size,
    last_modified), or an empty set of the same shape when there are none.
#}
{% macro landing_files(landing_source, subfolder) -%}
    {{ return(adapter.dispatch('landing_files', 'holdfast')(landing_source, subfolder)) }}
{%- endmacro %}

{% macro default__landing_files(landing_source, subfolder) -%}
    {%- set landing_dir = checked_var('landing_dir', kind='path') -%}
    {%- set pattern = landing_dir ~ '/' ~ subfolder ~ '/*' -%}
    {%- set has_files = false -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
        {%- set has_files = found.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if has_files -%}
        select filename, content, size, last_modified from {{ landing_source }}
    {%- else -%}
        select
            null::varchar as filename,
            null::blob as content,
            null::bigint as size,
            null::timestamptz as last_modified
        where false
    {%- endif -%}
{%- endmacro %}
