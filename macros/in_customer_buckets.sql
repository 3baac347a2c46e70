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
#}
{% macro in_customer_buckets(sql, customers_relation, max_customers_var) -%}
    {{ return(adapter.dispatch('in_customer_buckets', 'holdfast')(sql, customers_relation, max_customers_var)) }}
{%- endmacro %}

{% macro default__in_customer_buckets(sql, customers_relation, max_customers_var) -%}
    {%- set placeholder = '__HOLDFAST_CUSTOMER_BUCKET__' -%}
    {%- set in_unit_test = (customers_relation | string).startswith('__dbt__cte__') -%}
    {%- if not (execute and flags.WHICH in ['run', 'build']) or in_unit_test -%}
        {{ return(sql | replace(placeholder, 'true')) }}
    {%- endif -%}
    {%- set limit = checked_var(max_customers_var, min_value=1) | int -%}
    {%- set n_customers = run_query("select count(*) from " ~ customers_relation).columns[0].values()[0] -%}
    {%- set n_buckets = [((n_customers + limit - 1) // limit) | int, 1] | max -%}
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

{% macro spark__in_customer_buckets(sql, customers_relation, max_customers_var) -%}
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
