{#
    Why: reading a landing file keeps its bytes and its lines in memory, so a
    build that read every file in one statement would need memory in
    proportion to the landing zone (2 million customers are 1.6 GB of JSON).
    This lists the files of a landing subfolder that still need reading, in
    name order, cut into groups of at most landing_read_group_bytes (every
    group has at least one file): each group is read by its own branch of a
    union, so memory follows the group size. On an incremental run a file is
    skipped when `this` already holds its (file name, sha256): checksums are
    computed here, one group per query, so a run with nothing new parses
    nothing. Returns a list of lists of paths.

    Quick check (var landing_quick_check, default true; the rule make, rsync
    and git's index use): a file whose name, size and modification time are
    those it had when `this` read it is not read again, if that modification
    time was more than a second before the reading run started (times are
    kept to the second, so a file rewritten in the second it was read is
    hashed). At 2M customers this spares hashing the 1.6 GB landing zone on
    every run (8 s). Set it to false to hash every file on every run (a
    tool that rewrites a file keeping its size and timestamp).
#}
{% macro landing_file_groups(subfolder) -%}
    {%- set landing_dir = checked_var('landing_dir', kind='path') -%}
    {%- set pattern = landing_dir ~ '/' ~ subfolder ~ '/*' -%}
    {%- set limit = checked_var('landing_read_group_bytes', min_value=1) | int -%}
    {%- set groups = [] -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
        {%- if found.columns[0].values()[0] > 0 -%}
            {%- set files = run_query(
                "select filename, size, "
                ~ holdfast_file_stamp('parse_filename(filename)', 'size', 'last_modified')
                ~ " from read_blob('" ~ pattern ~ "') order by filename"
            ).rows -%}
            {%- if is_incremental() -%}
                {#- one scan of `this`: the (name, sha256) it holds, and the stamps
                    the quick check may trust (null: read in the same second) -#}
                {%- set quick_check = checked_var('landing_quick_check', kind='bool') | trim == 'true' -%}
                {%- set known = [] -%}
                {%- set unchanged = [] -%}
                {%- for row in run_query(
                    "select distinct file_name || '|' || file_checksum, case when file_modified_at < ingested_at - interval 1 second then "
                    ~ holdfast_file_stamp('file_name', 'file_size_bytes', 'file_modified_at')
                    ~ " end from " ~ this
                ).rows -%}
                    {%- do known.append(row[0]) -%}
                    {%- if quick_check and row[1] is not none -%}
                        {%- do unchanged.append(row[1]) -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- set to_check = [] -%}
                {%- for row in files if row[2] not in unchanged -%}
                    {%- do to_check.append(row) -%}
                {%- endfor -%}
                {%- set fresh = [] -%}
                {%- for group in holdfast_group_files(to_check, limit) -%}
                    {%- for row in run_query(
                        "select filename, parse_filename(filename) || '|' || sha256(content), size"
                        ~ " from read_blob([" ~ holdfast_quoted_paths(group) ~ "]) order by filename"
                    ).rows -%}
                        {%- if row[1] not in known -%}
                            {%- do fresh.append([row[0], row[2]]) -%}
                        {%- endif -%}
                    {%- endfor -%}
                {%- endfor -%}
                {%- set groups = holdfast_group_files(fresh, limit) -%}
            {%- else -%}
                {%- set groups = holdfast_group_files(files, limit) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(groups) }}
{%- endmacro %}

{#- name|size|modification time (whole seconds) of a landing file, as SQL -#}
{% macro holdfast_file_stamp(name, size, modified_at) -%}
    {{ name }} || '|' || {{ size }} || '|' || epoch({{ modified_at }})::bigint
{%- endmacro %}

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
