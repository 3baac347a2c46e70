{#
    Why: reading a landing file keeps its bytes and its lines in memory, so a
    build that read every file in one statement would need memory in
    proportion to the landing zone (2 million customers are 1.6 GB of JSON).
    This takes the files of one listing of a landing subfolder
    (landing_listed_files: ignored files left out) that still need reading, in
    name order, cut into groups of at most the model's `batch_bound_var`
    bytes (landing_read_group_bytes; every group has at least one file):
    each group is read by its own statement (landing_file_pieces), so memory
    follows the group size. On an incremental run a
    file is skipped when `this` already holds it as it is now: the same name,
    sha256, batch id and refusal reason (a file whose verdict changed, say it
    lost a collision, is read again); checksums are computed here, one group
    per query, so a run with nothing new parses nothing. Returns a list of
    lists of files (dicts from landing_listing).

    Quick check (var landing_quick_check, default true; the rule make, rsync
    and git's index use): a file whose name, size, modification time and
    verdict are those it had when `this` read it is not read again, if that
    modification time was more than a second before the reading run started
    (times are kept to the second, so a file rewritten in the second it was
    read is hashed). At 2M customers this spares hashing the 1.6 GB landing
    zone on every run (8 s). Set it to false to hash every file on every run
    (a tool that rewrites a file keeping its size and timestamp).
#}
{% macro landing_file_groups(subfolder, extensions) -%}
    {%- set limit = batch_bound() -%}
    {%- set files = [] -%}
    {%- for listed in landing_listed_files(subfolder, extensions) if listed.status != 'ignored' -%}
        {%- do files.append(listed) -%}
    {%- endfor -%}
    {%- set groups = [] -%}
    {%- if execute and files | length > 0 -%}
        {%- if is_incremental() -%}
            {#- one scan of `this`: the files it holds, and the stamps the
                quick check may trust (null: read in the same second) -#}
            {%- set quick_check = checked_var('landing_quick_check', kind='bool') | trim == 'true' -%}
            {%- set known = [] -%}
            {%- set unchanged = [] -%}
            {%- for row in run_query(
                "select distinct "
                ~ holdfast_file_key('file_name', 'file_checksum', 'batch_id', 'file_refusal_reason')
                ~ ", case when file_modified_at < ingested_at - interval 1 second then "
                ~ holdfast_file_key('file_name', 'file_size_bytes', 'epoch(file_modified_at)::bigint', 'batch_id', 'file_refusal_reason')
                ~ " end from " ~ this
            ).rows -%}
                {%- do known.append(row[0]) -%}
                {%- if quick_check and row[1] is not none -%}
                    {%- do unchanged.append(row[1]) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set to_check = [] -%}
            {%- for listed in files -%}
                {%- set stamp = [listed.file_name, listed.file_size_bytes, listed.modified_epoch, listed.batch_id, listed.refusal_reason or ''] | join('|') -%}
                {%- if stamp not in unchanged -%}
                    {%- do to_check.append(listed) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set checksums = {} -%}
            {%- for group in holdfast_group_listed_files(to_check, limit) -%}
                {%- for row in run_query(
                    "select name_hex, sha256(content) from (" ~ landing_read_files(subfolder, group) ~ ")"
                ).rows -%}
                    {%- do checksums.update({row[0]: row[1]}) -%}
                {%- endfor -%}
            {%- endfor -%}
            {%- set fresh = [] -%}
            {%- for listed in to_check -%}
                {%- set key = [listed.file_name, checksums.get(listed.name_hex, ''), listed.batch_id, listed.refusal_reason or ''] | join('|') -%}
                {%- if key not in known -%}
                    {%- do fresh.append(listed) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set groups = holdfast_group_listed_files(fresh, limit) -%}
        {%- else -%}
            {%- set groups = holdfast_group_listed_files(files, limit) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(groups) }}
{%- endmacro %}

{#- a|b|c of SQL expressions (null as ''), the key a file is known by -#}
{% macro holdfast_file_key() -%}
    {%- set parts = [] -%}
    {%- for expression in varargs -%}
        {%- do parts.append("coalesce((" ~ expression ~ ")::varchar, '')") -%}
    {%- endfor -%}
    {{ parts | join(" || '|' || ") }}
{%- endmacro %}

{#- files of the listing (dicts) in consecutive groups of at most `limit`
    bytes, each with at least one file -#}
{% macro holdfast_group_listed_files(files, limit) -%}
    {%- set rows = [] -%}
    {%- for listed in files -%}
        {%- do rows.append([listed, listed.file_size_bytes]) -%}
    {%- endfor -%}
    {%- set groups = [] -%}
    {%- for group in holdfast_group_files(rows, limit) -%}
        {%- do groups.append(group) -%}
    {%- endfor -%}
    {{ return(groups) }}
{%- endmacro %}

{#- (item, size) rows in consecutive groups of at most `limit` bytes, each
    with at least one item; returns lists of items -#}
{% macro holdfast_group_files(files, limit) -%}
    {%- set groups = [] -%}
    {%- set state = namespace(group=[], bytes=0) -%}
    {%- for row in files -%}
        {%- if state.group | length > 0 and state.bytes + row[1] > limit -%}
            {%- do groups.append(state.group) -%}
            {%- set state.group = [] -%}
            {%- set state.bytes = 0 -%}
        {%- endif -%}
        {%- do state.group.append(row[0]) -%}
        {%- set state.bytes = state.bytes + row[1] -%}
    {%- endfor -%}
    {%- if state.group | length > 0 -%}
        {%- do groups.append(state.group) -%}
    {%- endif -%}
    {{ return(groups) }}
{%- endmacro %}

{% macro holdfast_quoted_paths(paths) -%}
    {%- set quoted = [] -%}
    {%- for path in paths -%}
        {%- do quoted.append("'" ~ (path | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{#- A select of the files of one group (file_name, name_hex, batch_id,
    refusal_reason, content, size, last_modified), each read by its exact name:
    DuckDB's read_blob on a list of literal paths (names without glob
    characters), or holdfast_read_file for the others (glob characters, not
    UTF-8). The size and time are the listing's, so the quick check compares
    like with like. -#}
{% macro landing_read_files(subfolder, group) -%}
    {%- set folder = checked_var('landing_dir', kind='path') ~ '/' ~ subfolder -%}
    {%- set paths = [] -%}
    {%- set by_function = [] -%}
    {%- set listed_rows = [] -%}
    {%- for listed in group -%}
        {%- if listed.read_path is none -%}
            {%- do by_function.append(listed.name_hex) -%}
        {%- else -%}
            {%- do paths.append(holdfast_sql_string(listed.read_path)) -%}
        {%- endif -%}
        {%- do listed_rows.append(
            "(" ~ holdfast_sql_string(listed.name_hex)
            ~ ", " ~ holdfast_sql_string(listed.file_name)
            ~ ", " ~ holdfast_sql_string(listed.batch_id)
            ~ ", " ~ (holdfast_sql_string(listed.refusal_reason) if listed.refusal_reason is not none else "null::varchar")
            ~ ", " ~ listed.file_size_bytes
            ~ ", " ~ listed.modified_epoch ~ ")"
        ) -%}
    {%- endfor -%}
    {%- set reads = [] -%}
    {%- if paths | length > 0 -%}
        {%- do reads.append(
            "select hex(regexp_extract(filename, '[^/]*$')) as name_hex, content from read_blob([" ~ paths | join(", ") ~ "])"
        ) -%}
    {%- endif -%}
    {%- for name_hex in by_function -%}
        {%- do reads.append(
            "select '" ~ name_hex ~ "' as name_hex, holdfast_read_file('" ~ folder ~ "', unhex('"
            ~ name_hex ~ "')) as content"
        ) -%}
    {%- endfor -%}
    select
        listed.file_name,
        listed.name_hex,
        listed.batch_id,
        listed.refusal_reason,
        files.content,
        listed.size::bigint as size,
        to_timestamp(listed.modified_epoch::bigint) as last_modified
    from (values {{ listed_rows | join(", ") }})
        as listed (name_hex, file_name, batch_id, refusal_reason, size, modified_epoch)
    inner join ({{ reads | join(" union all ") }}) as files
        on listed.name_hex = files.name_hex
{%- endmacro %}

{% macro holdfast_sql_string(text) -%}
    {{ return("'" ~ (text | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}
