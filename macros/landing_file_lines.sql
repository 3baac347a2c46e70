{#
    Why: both landing sources (customers, products) are read the same way, and
    the rules of that reading are the ingestion contract, so they live once:
    - one batch = one file; batch_id = file stem; a file whose name is not a
      valid batch id or whose extension is not the expected one is refused
      (kept, listed in the ledger, every line logged as an error), never skipped;
    - file_checksum = sha256 of the bytes; on an incremental run only files
      whose (batch_id, checksum) is new are read, so a re-run changes nothing
      and a re-delivered file with new content replaces its batch;
    - lines split on LF; a trailing CR (CRLF files), a leading byte-order mark
      and the final newline are not part of a line; an empty file keeps one
      marker row (line_number null) so the ledger still lists it;
    - a file that is not valid UTF-8 is still split into lines: each line is
      decoded on its own and undecodable lines keep an escaped copy.
#}
{% macro landing_file_lines(landing_source, subfolder, extension) -%}
    {{ return(adapter.dispatch('landing_file_lines', 'holdfast')(landing_source, subfolder, extension)) }}
{%- endmacro %}

{% macro default__landing_file_lines(landing_source, subfolder, extension) -%}
    {#- memory follows the biggest group of files, not the landing zone: each
        group (files in name order, at most landing_read_group_bytes together,
        at least one file) is read by its own branch of a union -#}
    {%- set groups = landing_file_groups(subfolder) -%}
    {%- if groups | length == 0 -%}
        {{ landing_file_lines_of(
            "select null::varchar as filename, null::blob as content, null::bigint as size,"
            ~ " null::timestamptz as last_modified where false",
            extension
        ) }}
    {%- elif flags.WHICH in ['run', 'build'] -%}
        {#- one statement per group into a temp table on the model's connection:
            DuckDB runs the branches of a union side by side, so a single
            statement would hold every group at once -#}
        {%- set scratch = 'holdfast_landing_read_' ~ subfolder -%}
        {%- for group in groups -%}
            {%- set lines_sql = landing_file_lines_of(
                "select filename, content, size, last_modified from read_blob(["
                ~ holdfast_quoted_paths(group) ~ "])",
                extension
            ) -%}
            {%- if loop.first -%}
                {%- do run_query("create or replace temp table " ~ scratch ~ " as " ~ lines_sql) -%}
            {%- else -%}
                {%- do run_query("insert into " ~ scratch ~ " " ~ lines_sql) -%}
            {%- endif -%}
        {%- endfor %}
    select * from {{ scratch }}
    {%- else -%}
        {%- for group in groups %}
    select * from (
        {{ landing_file_lines_of(
            "select filename, content, size, last_modified from read_blob(["
            ~ holdfast_quoted_paths(group) ~ "])",
            extension
        ) }}
    )
            {{ "union all" if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro landing_file_lines_of(files_sql, extension) -%}
    {%- set batch_id_pattern = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' -%}
with

landing_files as (
    {{ files_sql }}
),

files_named as (
    select
        parse_filename(filename) as file_name,
        parse_filename(filename, true) as file_stem,
        sha256(content) as file_checksum,
        size as file_size_bytes,
        last_modified as file_modified_at,
        content,
        lower(parse_filename(filename)) like '%{{ extension }}' as has_expected_extension,
        regexp_full_match(parse_filename(filename, true), '{{ batch_id_pattern }}') as is_batch_id_valid
    from landing_files
),

files_identified as (
    select
        -- a refused file keeps its full name as its key, so it can never
        -- collide with (and replace) a valid batch of the same stem
        case
            when has_expected_extension and is_batch_id_valid then file_stem
            else file_name
        end as batch_id,
        file_name,
        file_checksum,
        file_size_bytes,
        file_modified_at,
        content,
        case
            when not has_expected_extension
                then 'file: refused, the extension must be {{ extension }}'
            when not is_batch_id_valid
                then 'file: refused, the file name is not a valid batch id (letters, digits, _ . - ; at most 128 characters; must start with a letter or digit)'
        end as file_refusal_reason
    from files_named
),

files_to_load as (
    -- on an incremental run landing_file_groups already left out the files
    -- whose (name, sha256) this model holds
    select * from files_identified
),

files_utf8 as (
    select
        *,
        try(decode(content)) as file_text
    from files_to_load
),

files_decoded as (
    select
        * exclude (content),
        -- lossless escaped form, only needed when the bytes are not UTF-8
        case when file_text is null then content::varchar end as file_text_escaped
    from files_utf8
),

files_split as (
    select
        * exclude (file_text, file_text_escaped),
        case
            -- an empty file keeps one marker row (line_number null)
            when coalesce(file_text, file_text_escaped) = '' then [null::varchar]
            when file_text is not null
                then string_split(
                    regexp_replace(
                        regexp_replace(file_text, '^\x{FEFF}', ''),
                        '\n$', ''
                    ),
                    chr(10)
                )
            else string_split(regexp_replace(file_text_escaped, '\\x0A$', ''), '\x0A')
        end as file_lines,
        file_text is not null as is_file_utf8,
        coalesce(file_text, file_text_escaped) = '' as is_file_empty
    from files_decoded
),

-- no joins from here on: every branch of the union streams its files' lines
lines as (
    select
        * exclude (file_lines),
        unnest(file_lines) as line_text,
        generate_subscripts(file_lines, 1) as line_subscript
    from files_split
),

lines_decoded as (
    select
        *,
        case
            when is_file_utf8 then line_text
            else try(decode(line_text::blob))
        end as decoded_line
    from lines
),

final as (
    select
        batch_id,
        file_name,
        file_checksum,
        file_refusal_reason,
        case when not is_file_empty then line_subscript::integer end as line_number,
        coalesce(regexp_replace(decoded_line, '\r$', ''), line_text) as raw_line,
        file_size_bytes,
        not is_file_empty and decoded_line is null as is_line_undecodable,
        is_file_empty,
        file_modified_at,
        {{ run_started_at_utc() }} as ingested_at,
        '{{ invocation_id }}' as ingest_run_id
    from lines_decoded
)

select * from final
{%- endmacro %}
