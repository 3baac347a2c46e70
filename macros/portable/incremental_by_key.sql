{#
    Why: the staging, validation, current-state, statistics, recommendation,
    mart and ops models are incremental by key on DuckDB (delete+insert: the
    rows of every key the run computed are replaced by the run's rows). The
    choice per engine is made here, once, from the target type:
    - DuckDB: incremental, delete+insert;
    - Databricks (Delta tables): incremental with the same unique key,
      strategy from incremental_strategy_by_key;
    - open-source Spark (spark_local, Parquet tables, no Delta): a table
      rebuilt on every run (same rows, more work): Parquet tables cannot
      delete or replace rows, so no strategy gives delete+insert there.
    dbt-databricks dispatches databricks__, then spark__, then default__.
#}
{% macro incremental_by_key() -%}
    {{ return(adapter.dispatch('incremental_by_key', 'holdfast')()) }}
{%- endmacro %}

{% macro default__incremental_by_key() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_by_key() -%}
    {{ return('table') }}
{%- endmacro %}

{% macro databricks__incremental_by_key() -%}
    {{ return('incremental') }}
{%- endmacro %}

{#
    The incremental_strategy of a model incremental by key. `key_is_unique`:
    true when the unique key identifies one row (a customer, a product, an
    alert), false when it groups several rows (the lines of a batch, the
    purchases or candidates of a customer), where a run must withdraw the
    key's rows it no longer computes (a re-delivered batch without a line).
    - DuckDB: delete+insert for both;
    - Databricks: merge for a unique key (update the key's row, insert new
      keys: what delete+insert does when a key has one row, without deleting
      and rewriting files); dbt-databricks' delete+insert for a grouping key
      (`insert into ... replace on (key)`, or delete then insert on older
      runtimes: every row of each key the run computed goes, the run's rows
      come in, exactly DuckDB's delete+insert). replace_where would need a
      predicate naming the keys before the run, which a set of re-delivered
      batches or refreshed customers is not.
#}
{% macro incremental_strategy_by_key(key_is_unique) -%}
    {{ return(adapter.dispatch('incremental_strategy_by_key', 'holdfast')(key_is_unique)) }}
{%- endmacro %}

{% macro default__incremental_strategy_by_key(key_is_unique) -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro databricks__incremental_strategy_by_key(key_is_unique) -%}
    {{ return('merge' if key_is_unique else 'delete+insert') }}
{%- endmacro %}
