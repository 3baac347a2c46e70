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
    {%- set batch_id_pattern = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' -%}
with

landing_files as (
    {{ landing_files(landing_source, subfolder) }}
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
    select * from files_identified
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as loaded
            where
                loaded.batch_id = files_identified.batch_id
                and loaded.file_checksum = files_identified.file_checksum
        )
    {% endif %}
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

lines as (
    select
        batch_id,
        unnest(file_lines) as line_text,
        generate_subscripts(file_lines, 1) as line_number
    from files_split
    where not is_file_empty
),

lines_decoded as (
    select
        lines.batch_id,
        lines.line_number,
        case
            when files_split.is_file_utf8 then lines.line_text
            else try(decode(lines.line_text::blob))
        end as decoded_line,
        lines.line_text
    from lines
    inner join files_split
        on lines.batch_id = files_split.batch_id
),

final as (
    select
        files_split.batch_id,
        files_split.file_name,
        files_split.file_checksum,
        files_split.file_refusal_reason,
        lines_decoded.line_number::integer as line_number,
        coalesce(
            regexp_replace(lines_decoded.decoded_line, '\r$', ''),
            lines_decoded.line_text
        ) as raw_line,
        files_split.file_size_bytes,
        lines_decoded.line_number is not null
        and lines_decoded.decoded_line is null as is_line_undecodable,
        files_split.is_file_empty,
        files_split.file_modified_at,
        {{ run_started_at_utc() }} as ingested_at,
        '{{ invocation_id }}' as ingest_run_id
    from files_split
    left join lines_decoded
        on files_split.batch_id = lines_decoded.batch_id
)

select * from final
{%- endmacro %}
