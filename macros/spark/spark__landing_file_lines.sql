{#
    Why: the ingestion contract of landing_file_lines (see there), on Spark.
    Same rules and columns; the differences are only how Spark spells them:
    the file name comes from a path URI, lines are split with Java regexes (\z
    is the very end of the text), and a file that is not UTF-8 is split on its
    bytes (hex) so each line can still be decoded on its own; an undecodable
    line keeps an escaped copy (\xHH for every byte outside printable ASCII and
    for " ' \, as DuckDB writes a blob). Spark's file sources skip zero-length
    files, so an empty file has no marker row here. Only the batch-id and
    extension rules apply here (the first of `extensions`): the name verdicts
    of landing_listing (ignored names, collisions, names that are not UTF-8)
    and CSV snapshots are DuckDB's (docs/spark.md).
#}
{% macro spark__landing_file_lines(landing_source, subfolder, extensions, csv_number_columns=[]) -%}
    {%- set batch_id_pattern = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}' -%}
    {%- set extension = extensions[0] -%}
with

landing_files as (
    {{ landing_files(landing_source, subfolder) }}
),

files_named as (
    select
        regexp_extract(filename, r'([^/]*)$', 1) as file_name,
        regexp_replace(regexp_extract(filename, r'([^/]*)$', 1), r'\.[^.]*$', '') as file_stem,
        {{ sha256_hex('content') }} as file_checksum,
        size as file_size_bytes,
        last_modified as file_modified_at,
        content
    from landing_files
),

files_identified as (
    select
        case
            when
                lower(file_name) like '%{{ extension }}'
                and {{ regex_full_match('file_stem', batch_id_pattern) }}
                then file_stem
            else file_name
        end as batch_id,
        file_name,
        file_checksum,
        file_size_bytes,
        file_modified_at,
        content,
        case
            when not lower(file_name) like '%{{ extension }}'
                then 'file: refused, the extension must be {{ extension }}'
            when not {{ regex_full_match('file_stem', batch_id_pattern) }}
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

files_split as (
    select
        batch_id,
        file_name,
        file_checksum,
        file_refusal_reason,
        file_size_bytes,
        file_modified_at,
        is_valid_utf8(cast(content as string)) as is_file_utf8,
        length(content) = 0 as is_file_empty,
        case
            when is_valid_utf8(cast(content as string))
                then split(
                    regexp_replace(
                        regexp_replace(cast(content as string), r'^\x{FEFF}', ''),
                        r'\n\z', ''
                    ),
                    r'\n',
                    -1
                )
            -- not UTF-8: hex byte pairs separated by spaces, split on the LF pair
            else split(
                regexp_replace(regexp_replace(hex(content), '(..)', '$1 '), r'0A \z', ''),
                '0A ',
                -1
            )
        end as file_lines
    from files_to_load
),

lines as (
    select
        files_split.batch_id,
        exploded.line_index + 1 as line_number,
        case
            when files_split.is_file_utf8 then exploded.line_text
            when is_valid_utf8(cast(unhex(replace(exploded.line_text, ' ', '')) as string))
                then cast(unhex(replace(exploded.line_text, ' ', '')) as string)
        end as decoded_line,
        case
            when files_split.is_file_utf8 then exploded.line_text
            else concat_ws('', transform(
                filter(split(exploded.line_text, ' '), byte_hex -> byte_hex <> ''),
                byte_hex -> case
                    when
                        conv(byte_hex, 16, 10) between 32 and 126
                        and byte_hex not in ('22', '27', '5C')
                        then char(cast(conv(byte_hex, 16, 10) as int))
                    else concat(r'\x', byte_hex)
                end
            ))
        end as line_text
    from files_split
    lateral view posexplode(file_lines) exploded as line_index, line_text
    where not files_split.is_file_empty
),

final as (
    select
        files_split.batch_id,
        files_split.file_name,
        files_split.file_checksum,
        files_split.file_refusal_reason,
        cast(lines.line_number as integer) as line_number,
        coalesce(regexp_replace(lines.decoded_line, r'\r\z', ''), lines.line_text) as raw_line,
        cast(null as string) as record_json,
        files_split.file_size_bytes,
        lines.line_number is not null and lines.decoded_line is null as is_line_undecodable,
        files_split.is_file_empty,
        files_split.file_modified_at,
        {{ run_started_at_utc() }} as ingested_at,
        '{{ invocation_id }}' as ingest_run_id
    from files_split
    left join lines
        on files_split.batch_id = lines.batch_id
)

select * from final
{%- endmacro %}
