{#
    Why: file names are data, never patterns. The folder is listed once (by
    the holdfast_list_folder function the dbt-duckdb plugin registers: DuckDB's
    own glob skips names with a backslash and fails on a name that is not
    UTF-8), and every entry gets one verdict here, in SQL:
    - ignored: hidden files and partial uploads (names starting with . or _,
      ending with .part or .tmp) are left alone until they are renamed;
    - refused: a name that is not UTF-8, an extension not in `extensions`
      (compared ignoring case), a stem that is not a valid batch id, or a
      collision (below); the batch id is the whole file name;
    - accepted: the batch id is the stem.
    Collisions: among files whose stems are the same batch id (b_0001.jsonl,
    b_0001.JSONL, b_0001.csv), the one spelled with a lowercase extension wins,
    then the first extension of `extensions`, then the byte order of the
    names; the others are refused. A stem that is the exact name of another
    (not ignored) file of the folder (a.json.jsonl beside a.json) is refused:
    refused files use their full name as batch id, so no two files ever share
    one and nothing is merged.
    Returns a select of one row per entry: file_name (one to one with the
    bytes, see holdfast.infrastructure.landing_folder.display_name), name_hex,
    status, batch_id, refusal_reason, file_size_bytes, modified_epoch and
    read_path (the path DuckDB's read_blob opens as it is: for a name without
    glob characters; null for the others, which holdfast_read_file reads:
    DuckDB expands a pattern by listing the folder, and fails when the folder
    holds a name with a backslash).
#}
{% macro landing_listing(subfolder, extensions) -%}
    {%- set folder = checked_var('landing_dir', kind='path') ~ '/' ~ subfolder -%}
    {%- set batch_id_pattern = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' -%}
with

entries as (
    select unnest(holdfast_list_folder('{{ folder }}'), recursive := true)
),

entries_named as (
    select
        file_name,
        hex(name) as name_hex,
        case when is_name_utf8 then decode(name) end as exact_name,
        is_name_utf8,
        size as file_size_bytes,
        modified_epoch,
        starts_with(file_name, '.')
        or starts_with(file_name, '_')
        or ends_with(lower(file_name), '.part')
        or ends_with(lower(file_name), '.tmp') as is_ignored,
        case
            {%- for extension in extensions %}
                when ends_with(lower(file_name), '{{ extension }}') then {{ loop.index }}
            {%- endfor %}
        end as extension_rank
    from entries
),

entries_split as (
    select
        *,
        case
            when extension_rank is not null
                then left(file_name, length(file_name) - length(
                    [{% for extension in extensions %}'{{ extension }}'{{ ", " if not loop.last }}{% endfor %}][extension_rank]
                ))
        end as file_stem,
        coalesce(
            ends_with(file_name, [{% for extension in extensions %}'{{ extension }}'{{ ", " if not loop.last }}{% endfor %}][extension_rank]),
            false
        ) as has_lowercase_extension
    from entries_named
),

candidates as (
    -- a UTF-8 name with a known extension and a valid batch id as its stem
    select
        *,
        row_number() over (
            partition by file_stem
            order by
                has_lowercase_extension desc,
                extension_rank asc,
                name_hex asc
        ) as rank_in_stem,
        first(file_name) over (
            partition by file_stem
            order by
                has_lowercase_extension desc,
                extension_rank asc,
                name_hex asc
        ) as stem_winner
    from entries_split
    where
        not is_ignored
        and is_name_utf8
        and extension_rank is not null
        and regexp_full_match(file_stem, '{{ batch_id_pattern }}')
),

visible_names as (
    select file_name from entries_split
    where not is_ignored
),

verdicts as (
    select
        entries_split.*,
        case
            when entries_split.is_ignored then null
            when not entries_split.is_name_utf8
                then 'file: refused, the file name is not valid UTF-8'
            when entries_split.extension_rank is null
                then 'file: refused, the extension must be {{ extensions | join(" or ") }}'
            when candidates.file_name is null
                then 'file: refused, the file name is not a valid batch id (letters, digits, _ . - ; at most 128 characters; must start with a letter or digit)'
            when candidates.rank_in_stem > 1
                then 'file: refused, ' || candidates.stem_winner || ' has the same batch id ('
                || candidates.file_stem || '); one file per batch'
            when candidates.file_stem in (select file_name from visible_names)
                then 'file: refused, its batch id (' || candidates.file_stem
                || ') is the name of another file of the folder'
        end as refusal_reason
    from entries_split
    left join candidates
        on entries_split.name_hex = candidates.name_hex
),

-- a name that holds an e-mail address (never a valid batch id, so always
-- refused) is known by its masked form from here on: the name, the batch id
-- and the reason reach SQL text, dbt's log and the ops tables only masked,
-- and the file is read by the bytes of its name (holdfast_read_file)
final as (
    select
        {{ mask_emails('file_name', keep_distinct=true) }} as file_name,
        name_hex,
        case
            when is_ignored then 'ignored'
            when refusal_reason is not null then 'refused'
            else 'accepted'
        end as status,
        case
            when is_ignored then null
            when refusal_reason is null then file_stem
            else {{ mask_emails('file_name', keep_distinct=true) }}
        end as batch_id,
        {{ mask_emails('refusal_reason') }} as refusal_reason,
        file_size_bytes,
        modified_epoch,
        case
            when is_ignored or not is_name_utf8 then null
            when {{ mask_emails('exact_name') }} <> exact_name then null
            -- a name without glob characters is a literal path to read_blob
            when not regexp_matches(exact_name, '[*?\[]') then '{{ folder }}/' || exact_name
        end as read_path
    from verdicts
)

select * from final
{%- endmacro %}

{#- The verdicts of landing_listing as a list of dicts, from one listing of
    the folder kept in a temp table on the model's connection. Called while a
    landing model runs (planner landing_file_pieces); on `dbt run` / `dbt
    build` that listing is also kept in ops.landing_listing (one row per
    entry, ignored ones included), replacing the previous listing of the same
    source. -#}
{% macro landing_listed_files(subfolder, extensions) -%}
    {%- set files = [] -%}
    {%- if execute -%}
        {%- set scratch = 'holdfast_landing_listing_' ~ subfolder -%}
        {%- call statement('landing_listing', auto_begin=False) -%}
            create or replace temp table {{ scratch }} as {{ landing_listing(subfolder, extensions) }}
        {%- endcall -%}
        {%- for row in run_query(
            "select to_json(listed)::varchar from " ~ scratch ~ " as listed order by name_hex"
        ).rows -%}
            {%- do files.append(fromjson(row[0])) -%}
        {%- endfor -%}
        {%- if flags.WHICH in ['run', 'build'] -%}
            {%- call statement('landing_listing_record', auto_begin=False) -%}
                {{ landing_listing_record(subfolder, scratch) }}
            {%- endcall -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(files) }}
{%- endmacro %}

{#- ops.landing_listing is an operator table (it is published): names that
    hold an e-mail address are masked as in the ledger (mask_emails) -#}
{% macro landing_listing_record(subfolder, listing_relation) -%}
    create schema if not exists ops;
    create table if not exists ops.landing_listing (
        source varchar,
        file_name varchar,
        status varchar,
        batch_id varchar,
        refusal_reason varchar,
        file_size_bytes bigint,
        file_modified_at timestamptz,
        listed_at timestamptz,
        run_id varchar
    );
    delete from ops.landing_listing where source = '{{ subfolder }}';
    insert into ops.landing_listing
    select
        '{{ subfolder }}',
        {{ mask_emails('file_name', keep_distinct=true) }},
        status,
        {{ mask_emails('batch_id', keep_distinct=true) }},
        {{ mask_emails('refusal_reason') }},
        file_size_bytes,
        to_timestamp(modified_epoch),
        {{ run_started_at_utc() }},
        '{{ invocation_id }}'
    from {{ listing_relation }}
{%- endmacro %}
