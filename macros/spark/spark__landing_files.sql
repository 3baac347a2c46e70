{#
    Why: on Spark the landing files are read with Spark's own binaryFile source
    (path, modification time, length, bytes): every file of the folder, nothing
    parsed or skipped. Same columns as the DuckDB read_blob() version. The
    folder is the checked var landing_dir, so nothing else reaches the SQL.
#}
{% macro spark__landing_files(landing_source, subfolder) -%}
    {%- set landing_dir = checked_var('landing_dir', kind='path') -%}
    select
        path as filename,
        content,
        length as size,
        modificationTime as last_modified
    from binaryFile.`{{ landing_dir }}/{{ subfolder }}`
{%- endmacro %}
