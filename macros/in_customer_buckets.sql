{#
    Why: a purchase profile aggregates each customer's purchases into lists,
    and DuckDB's list aggregates do not spill, so one statement over 2
    million customers (20 million purchases) runs out of memory. On `dbt
    run`/`dbt build` this runs the model's SQL once per bucket of customers
    (hash(customer_id) modulo a bucket count chosen so a bucket holds about
    `max_customers_var` customers) into a scratch table in the model's schema
    and returns a select of it. `sql` must contain the
    placeholder __HOLDFAST_CUSTOMER_BUCKET__ where a condition on the
    customer id belongs (it is given the column to hash). The model must run
    drop_bucket_scratch() as a post-hook. Elsewhere (compile,
    docs, lint, unit tests) the SQL is returned whole.

    The customers counted: on a first build (and --full-refresh), the rows of
    `customers_relation`. On an incremental run of a model that passes
    `pending_customers_sql` (a query returning the customer_id of every
    customer the run recomputes; the placeholder in it reads as true), the
    distinct customers it returns, counted with one query: every bucket
    statement scans the model's inputs whole, so a run with fewer pending
    customers than `max_customers_var` must be one statement, not one per
    bucket of all customers. n_buckets = max(1, ceil(count / limit)); one
    bucket runs the SQL as one statement, without the scratch table. The
    count and the bucket count are logged.
#}
{% macro in_customer_buckets(sql, customers_relation, max_customers_var, pending_customers_sql=none) -%}
    {{ return(adapter.dispatch('in_customer_buckets', 'holdfast')(
        sql, customers_relation, max_customers_var, pending_customers_sql
    )) }}
{%- endmacro %}

{% macro default__in_customer_buckets(sql, customers_relation, max_customers_var, pending_customers_sql=none) -%}
    {%- set placeholder = '__HOLDFAST_CUSTOMER_BUCKET__' -%}
    {%- set in_unit_test = (customers_relation | string).startswith('__dbt__cte__') -%}
    {%- if not (execute and flags.WHICH in ['run', 'build']) or in_unit_test -%}
        {{ return(sql | replace(placeholder, 'true')) }}
    {%- endif -%}
    {%- set limit = checked_var(max_customers_var, min_value=1) | int -%}
    {%- set by_pending = pending_customers_sql is not none and is_incremental() -%}
    {%- if by_pending -%}
        {%- set count_sql = "select count(distinct customer_id) from (\n"
            ~ (pending_customers_sql | replace(placeholder, 'true'))
            ~ "\n) as pending_customers" -%}
    {%- else -%}
        {%- set count_sql = "select count(*) from " ~ customers_relation -%}
    {%- endif -%}
    {%- set n_customers = run_query(count_sql).columns[0].values()[0] | int -%}
    {%- set n_buckets = [(n_customers + limit - 1) // limit, 1] | max -%}
    {%- do log(
        "in_customer_buckets: " ~ this.identifier ~ ": " ~ n_buckets
        ~ (" bucket" if n_buckets == 1 else " buckets") ~ " for " ~ n_customers
        ~ (" pending customers" if by_pending else " customers")
        ~ " (" ~ max_customers_var ~ " = " ~ limit ~ ")",
        info=True
    ) -%}
    {%- if n_buckets == 1 -%}
        {{ return(sql | replace(placeholder, 'true')) }}
    {%- endif -%}
    {#- a table in the model's schema, not a temp table: DuckDB keeps temp
        tables in memory, and 60 million checked candidates do not fit; the
        model's post-hook drop_bucket_scratch removes it -#}
    {%- set scratch = holdfast_bucket_scratch() -%}
    {%- for bucket in range(n_buckets) -%}
        {%- set bucket_sql = sql | replace(
            placeholder, 'hash(customer_id) % ' ~ n_buckets ~ ' = ' ~ bucket
        ) -%}
        {%- if loop.first -%}
            {%- do run_query("create or replace table " ~ scratch ~ " as " ~ bucket_sql) -%}
        {%- else -%}
            {%- do run_query("insert into " ~ scratch ~ " " ~ bucket_sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return("select * from " ~ scratch) }}
{%- endmacro %}

{% macro spark__in_customer_buckets(sql, customers_relation, max_customers_var, pending_customers_sql=none) -%}
    {{ return(sql | replace('__HOLDFAST_CUSTOMER_BUCKET__', 'true')) }}
{%- endmacro %}

{% macro holdfast_bucket_scratch() -%}
    {{ return(this.schema ~ '.holdfast_scratch_' ~ this.identifier) }}
{%- endmacro %}

{#- post-hook of every model that uses in_customer_buckets -#}
{% macro drop_bucket_scratch() -%}
    {%- if target.type == 'duckdb' -%}
        drop table if exists {{ holdfast_bucket_scratch() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
