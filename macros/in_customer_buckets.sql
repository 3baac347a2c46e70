{#
    Why: a purchase profile aggregates each customer's purchases into lists,
    and DuckDB's list aggregates do not spill, so one statement over 2
    million customers (20 million purchases) runs out of memory. This planner
    of batched_incremental (config batch_planner) cuts a run into buckets of
    customers: hash(`batch_key`) modulo a bucket count chosen so a bucket
    holds about `batch_bound_var` customers. Returns one filter per bucket
    (`true` for one bucket: the SQL runs as one statement).

    The customers counted: on a first build (and --full-refresh), the rows of
    the model `batch_customers`. On an incremental run, the distinct
    customers of the model's CTE `batch_rows_cte` (every customer the run
    recomputes), counted with one query: every bucket statement scans the
    model's inputs whole, so a run with fewer pending customers than the
    bound must be one statement, not one per bucket of all customers.
    n_buckets = max(1, ceil(count / bound)). The count and the bucket count
    are logged.
#}
{% macro in_customer_buckets(sql) -%}
    {%- set key = config.require('batch_key') -%}
    {%- set bound_var = config.require('batch_bound_var') -%}
    {%- set limit = batch_bound() -%}
    {%- set by_pending = is_incremental() -%}
    {%- if by_pending -%}
        {%- set count_sql = batch_cte_query(
            sql, 'select count(distinct ' ~ key ~ ') from ' ~ config.require('batch_rows_cte')
        ) -%}
    {%- else -%}
        {%- set count_sql = 'select count(*) from ' ~ ref(config.require('batch_customers')) -%}
    {%- endif -%}
    {%- set n_customers = run_query(count_sql).columns[0].values()[0] | int -%}
    {%- set n_buckets = [(n_customers + limit - 1) // limit, 1] | max -%}
    {%- do log(
        "in_customer_buckets: " ~ this.identifier ~ ": " ~ n_buckets
        ~ (" bucket" if n_buckets == 1 else " buckets") ~ " for " ~ n_customers
        ~ (" pending customers" if by_pending else " customers")
        ~ " (" ~ bound_var ~ " = " ~ limit ~ ")",
        info=True
    ) -%}
    {%- if n_buckets == 1 -%}
        {{ return(['true']) }}
    {%- endif -%}
    {%- set filters = [] -%}
    {%- for bucket in range(n_buckets) -%}
        {%- do filters.append('hash(' ~ key ~ ') % ' ~ n_buckets ~ ' = ' ~ bucket) -%}
    {%- endfor -%}
    {{ return(filters) }}
{%- endmacro %}
