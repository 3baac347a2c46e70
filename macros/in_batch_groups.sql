{#
    Why: validating a batch parses every line and every purchase in it; one
    statement over a full landing zone (2 million customers, 20 million
    purchases) needs memory in proportion to the zone, and DuckDB's list
    aggregates do not spill. On `dbt run`/`dbt build` this runs the model's
    SQL once per group of pending batches (at most `max_bytes_var` bytes of
    JSON lines each, at least one batch) into a temp table on the model's connection and
    returns a select of it, so memory follows the group. `sql` must contain
    the placeholder __HOLDFAST_BATCH_FILTER__ where a condition on batch_id
    belongs. Elsewhere (compile, docs, lint, unit tests) the SQL is returned
    whole.
#}
{% macro in_batch_groups(sql, lines_relation, max_bytes_var) -%}
    {{ return(adapter.dispatch('in_batch_groups', 'holdfast')(sql, lines_relation, max_bytes_var)) }}
{%- endmacro %}

{% macro default__in_batch_groups(sql, lines_relation, max_bytes_var) -%}
    {%- set placeholder = '__HOLDFAST_BATCH_FILTER__' -%}
    {#- dbt unit tests replace refs by CTEs: nothing to query there -#}
    {%- set in_unit_test = (lines_relation | string).startswith('__dbt__cte__') -%}
    {%- if not (execute and flags.WHICH in ['run', 'build']) or in_unit_test -%}
        {{ return(sql | replace(placeholder, 'true')) }}
    {%- endif -%}
    {%- set limit = checked_var(max_bytes_var, min_value=1) | int -%}
    {%- set pending_sql -%}
        select batch_id, sum(strlen(raw_line)) as n_bytes
        from {{ lines_relation }}
        where
            line_number is not null
        {% if is_incremental() %}
            and ingested_at > (
                select coalesce(max(ingested_at), '-infinity'::timestamptz) from {{ this }}
            )
        {% endif %}
        group by batch_id
        order by batch_id
    {%- endset -%}
    {%- set groups = holdfast_group_files(run_query(pending_sql).rows, limit) -%}
    {%- if groups | length == 0 -%}
        {{ return(sql | replace(placeholder, 'false')) }}
    {%- endif -%}
    {%- set scratch = 'holdfast_batch_groups_' ~ this.identifier -%}
    {%- for group in groups -%}
        {%- set group_sql = sql | replace(
            placeholder, 'batch_id in (' ~ holdfast_quoted_paths(group) ~ ')'
        ) -%}
        {%- if loop.first -%}
            {%- do run_query("create or replace temp table " ~ scratch ~ " as " ~ group_sql) -%}
        {%- else -%}
            {%- do run_query("insert into " ~ scratch ~ " " ~ group_sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return("select * from " ~ scratch) }}
{%- endmacro %}
