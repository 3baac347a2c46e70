{#
    Why: validating a batch parses every line and every purchase in it; one
    statement over a full landing zone (2 million customers, 20 million
    purchases) needs memory in proportion to the zone, and DuckDB's list
    aggregates do not spill. This planner of batched_incremental (config
    batch_planner) cuts a run into groups of the batches it computes, in
    batch order, at most `batch_bound_var` bytes each (at least one batch),
    so memory follows the group. The model's config names the CTE whose rows
    the run computes (`batch_rows_cte`, read with the SQL run whole: on an
    incremental run, the batches ingested since), their key (`batch_key`) and
    a row's size in bytes (`batch_size`). Returns one filter per group
    (`batch_key in (...)`); `false` when no batch is pending.
#}
{% macro in_batch_groups(sql) -%}
    {%- set key = config.require('batch_key') -%}
    {%- set pending_sql = batch_cte_query(
        sql,
        'select ' ~ key ~ ', sum(' ~ config.require('batch_size') ~ ') as n_bytes'
        ~ ' from ' ~ config.require('batch_rows_cte')
        ~ ' group by ' ~ key ~ ' order by ' ~ key
    ) -%}
    {%- set filters = [] -%}
    {%- for group in holdfast_group_files(run_query(pending_sql).rows, batch_bound()) -%}
        {%- do filters.append(key ~ ' in (' ~ holdfast_quoted_paths(group) ~ ')') -%}
    {%- endfor -%}
    {{ return(filters or ['false']) }}
{%- endmacro %}
