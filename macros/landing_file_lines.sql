{#
    Why: both landing sources (customers, products) are read the same way, and
    the rules of that reading are the ingestion contract, so they live once
    (docs/ingestion.md says them for people):
    - one batch = one file; the folder is listed once and each name gets a
      verdict (macro landing_listing): accepted (batch_id = file stem),
      refused (kept, batch_id = the whole file name, listed in the ledger,
      every line logged as an error, never skipped) or ignored (hidden files
      and partial uploads, left for a later run); each file is read by its
      exact name, never as a pattern;
    - file_checksum = sha256 of the bytes; on an incremental run only files
      whose (name, checksum, verdict) is new are read, so a re-run changes
      nothing and a re-delivered file with new content replaces its batch;
    - lines split on LF; a trailing CR (CRLF files), a leading byte-order mark
      and the final newline are not part of a line; an empty file keeps one
      marker row (line_number null) so the ledger still lists it;
    - a file that is not valid UTF-8 is still split into lines: each line is
      decoded on its own and undecodable lines keep an escaped copy.
    - a `.csv` file (where `extensions` has it) is read as CSV: the first
      record is the header, every other record is one line (line_number =
      record number, the header not counted), quoted fields may hold commas,
      quotes ("") and newlines; raw_line is the record as written and
      record_json the JSON object it maps to (header -> cell; an empty cell is
      an absent field; a cell of a `csv_number_columns` column that is a JSON
      number becomes a number), so validation reads CSV and JSON lines alike.
    `extensions`: the accepted extensions, lowercase, e.g. ['.jsonl', '.csv'].
#}
{% macro landing_file_lines(landing_source, subfolder, extensions, csv_number_columns=[]) -%}
    {{ return(adapter.dispatch('landing_file_lines', 'holdfast')(landing_source, subfolder, extensions, csv_number_columns)) }}
{%- endmacro %}

{% macro default__landing_file_lines(landing_source, subfolder, extensions, csv_number_columns=[]) -%}
    {#- memory follows the biggest group of files, not the landing zone: the
        model runs in pieces (materialization batched_incremental, planner
        landing_file_pieces), each reading one group of files; the SQL run
        whole reads no file. The landing folder (var landing_dir) is checked
        as the SQL compiles, before any piece reads it. -#}
    {%- if execute -%}
        {%- do checked_var('landing_dir', kind='path') -%}
    {%- endif -%}
    {{ landing_file_lines_of(batch_piece(landing_no_files()), extensions, csv_number_columns) }}
{%- endmacro %}

{#- a select of no landing file, with the columns of landing_read_files -#}
{% macro landing_no_files() -%}
    select
        null::varchar as file_name,
        null::varchar as name_hex,
        null::varchar as batch_id,
        null::varchar as refusal_reason,
        null::blob as content,
        null::bigint as size,
        null::timestamptz as last_modified
    where false
{%- endmacro %}

{#
    The planner of the landing models (config batch_planner of
    batched_incremental): the groups of files of landing_file_groups (config
    `landing_subfolder`, `landing_extensions`; at most `batch_bound_var`
    bytes each), each a select of its files (landing_read_files) that takes
    the place of the model's batch_piece; no file to read is one piece that
    reads nothing. One statement per group: DuckDB runs the branches of a
    union side by side, so a single statement would hold every group at once.
#}
{% macro landing_file_pieces(sql) -%}
    {%- set subfolder = config.require('landing_subfolder') -%}
    {%- set pieces = [] -%}
    {%- for group in landing_file_groups(subfolder, config.require('landing_extensions')) -%}
        {%- do pieces.append(landing_read_files(subfolder, group)) -%}
    {%- endfor -%}
    {{ return(pieces or [landing_no_files()]) }}
{%- endmacro %}

{% macro landing_file_lines_of(files_sql, extensions, csv_number_columns=[]) -%}
    {#- a CSV field: quoted (quotes doubled inside; may hold , and newlines) or
        plain; a record: fields separated by commas, ended by a newline that is
        not inside quotes. A quote that does not close a quoted field is a
        plain character, so every text splits into records, nothing skipped. -#}
    {%- set quoted = '"(?:[^"]|"")*"' -%}
    {%- set csv_record = '((?:' ~ quoted ~ '|[^,\n]*)(?:,(?:' ~ quoted ~ '|[^,\n]*))*)\n' -%}
    {%- set csv_field = '(' ~ quoted ~ '|[^,]*),' -%}
    {%- set json_number = '-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?' -%}
with

landing_files as (
    {{ files_sql }}
),

files_to_load as (
    -- names, batch ids and verdicts come from the listing (landing_listing);
    -- on an incremental run landing_file_groups already left out the files
    -- this model holds as they are
    select
        batch_id,
        file_name,
        sha256(content) as file_checksum,
        size as file_size_bytes,
        last_modified as file_modified_at,
        content,
        refusal_reason as file_refusal_reason,
        {% if '.csv' in extensions -%}
            refusal_reason is null and ends_with(lower(file_name), '.csv')
        {%- else -%}
            false
        {%- endif %} as is_csv
    from landing_files
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
        case when file_text is null then content::varchar end as file_text_escaped,
        -- CSV records of a UTF-8 CSV file (byte-order mark aside), header first
        case
            when is_csv and file_text is not null
                then regexp_extract_all(
                    regexp_replace(file_text, '^\x{FEFF}', '')
                    || case when ends_with(file_text, chr(10)) then '' else chr(10) end,
                    '{{ csv_record }}',
                    1
                )
        end as csv_records
    from files_utf8
),

files_split as (
    select
        * exclude (file_text, file_text_escaped, csv_records),
        case
            -- an empty file (or a CSV file with no record under its header)
            -- keeps one marker row (line_number null)
            when coalesce(file_text, file_text_escaped) = '' then [null::varchar]
            when csv_records is not null and len(csv_records) <= 1 then [null::varchar]
            when csv_records is not null then csv_records[2:]
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
        case
            when csv_records is not null
                then [
                    trim(replace(regexp_replace(field, '^"(.*)"$', '\1', 's'), '""', '"'))
                    for field in regexp_extract_all(
                        regexp_replace(coalesce(csv_records[1], ''), '\r$', '') || ',', '{{ csv_field }}', 1
                    )
                ]
        end as csv_header,
        file_text is not null as is_file_utf8,
        coalesce(file_text, file_text_escaped) = ''
        or (csv_records is not null and len(csv_records) <= 1) as is_file_empty
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
        * exclude (csv_header),
        case
            -- a CSV file that is not UTF-8 is not split into records: each of
            -- its lines is logged as not UTF-8
            when is_csv and not is_file_utf8 then null
            when is_file_utf8 then line_text
            else try(decode(line_text::blob))
        end as decoded_line,
        case
            when
                is_csv and is_file_utf8
                and trim(regexp_replace(line_text, '\r$', ''), ' ' || chr(9)) <> ''
                then [
                    case
                        when regexp_full_match(field, '{{ quoted }}', 's')
                            then replace(field[2:-2], '""', '"')
                        else field
                    end
                    for field in regexp_extract_all(
                        regexp_replace(line_text, '\r$', '') || ',', '{{ csv_field }}', 1
                    )
                ]
        end as csv_cells,
        csv_header
    from lines
),

lines_mapped as (
    select
        * exclude (csv_cells, csv_header),
        -- header -> cell as a JSON object: an empty cell is an absent field,
        -- a repeated or empty header name is skipped, cells beyond the header
        -- are ignored (like unknown fields), a number column's JSON number
        -- stays a number
        case
            when csv_cells is not null
                then '{' || array_to_string([
                    to_json(csv_header[i])::varchar || ':' || case
                        when
                            csv_header[i] in ({{ ("'" ~ (csv_number_columns | join("', '")) ~ "'") if csv_number_columns else "null" }})
                            and regexp_full_match(trim(csv_cells[i]), '{{ json_number }}')
                            then trim(csv_cells[i])
                        else to_json(csv_cells[i])::varchar
                    end
                    for i in range(1, len(csv_header) + 1)
                    if
                        coalesce(csv_cells[i], '') <> ''
                        and csv_header[i] <> ''
                        and list_position(csv_header, csv_header[i]) = i
                ], ',') || '}'
        end as record_json
    from lines_decoded
),

final as (
    select
        batch_id,
        file_name,
        file_checksum,
        file_refusal_reason,
        case when not is_file_empty then line_subscript::integer end as line_number,
        coalesce(regexp_replace(decoded_line, '\r$', ''), line_text) as raw_line,
        record_json,
        file_size_bytes,
        not is_file_empty and decoded_line is null as is_line_undecodable,
        is_file_empty,
        file_modified_at,
        {{ run_started_at_utc() }} as ingested_at,
        '{{ invocation_id }}' as ingest_run_id
    from lines_mapped
)

select * from final
{%- endmacro %}
