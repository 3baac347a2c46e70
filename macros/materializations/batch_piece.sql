{#
    Why: the SQL of a batched_incremental model is the statement of one
    piece, and it must also run whole (dbt compile, docs, unit tests, lint,
    Spark). batch_piece marks where a piece's own text goes: `whole` (the
    text when the SQL runs whole, `true` for a filter) between two comments
    the materialization finds again, so the compiled SQL both runs as it is
    and shows where each piece differs.
#}
{% macro batch_piece(whole='true') -%}
    /* batch piece */ {{ whole }} /* end batch piece */
{%- endmacro %}

{#- `sql` with every batch_piece span replaced by `piece` -#}
{% macro batch_piece_sql(sql, piece) -%}
    {%- set start = '/* batch piece */' -%}
    {%- set end = '/* end batch piece */' -%}
    {%- set parts = sql.split(start) -%}
    {%- if parts | length < 2 -%}
        {{ exceptions.raise_compiler_error("batched_incremental: the model's SQL has no batch_piece()") }}
    {%- endif -%}
    {%- set state = namespace(sql=parts[0]) -%}
    {%- for part in parts[1:] -%}
        {%- set rest = part.split(end, 1) -%}
        {%- if rest | length < 2 -%}
            {{ exceptions.raise_compiler_error("batched_incremental: a batch_piece span is not closed") }}
        {%- endif -%}
        {%- set state.sql = state.sql ~ piece ~ rest[1] -%}
    {%- endfor -%}
    {{ return(state.sql) }}
{%- endmacro %}

{#- `sql` as it runs whole (each batch_piece span keeps its `whole` text) -#}
{% macro batch_whole_sql(sql) -%}
    {{ return(sql | replace('/* batch piece */', '') | replace('/* end batch piece */', '')) }}
{%- endmacro %}

{#- a query on the CTEs of a model whose SQL ends with `select * from
    final`: the model's SQL run whole, its last select replaced by `select_sql`
    (DuckDB computes only the CTEs that select reads). Planners count the rows
    a run will compute with it, from the model's own CTEs. -#}
{% macro batch_cte_query(sql, select_sql) -%}
    {%- set whole = batch_whole_sql(sql) | trim -%}
    {%- set last = 'select * from final' -%}
    {%- if not whole.endswith(last) -%}
        {{ exceptions.raise_compiler_error("batched_incremental: the model's SQL must end with `" ~ last ~ "` for its planner to read its CTEs") }}
    {%- endif -%}
    {{ return(whole[:(whole | length) - (last | length)] ~ select_sql) }}
{%- endmacro %}

{#- the bound of a piece: the var named by config batch_bound_var, checked -#}
{% macro batch_bound() -%}
    {{ return(checked_var(config.require('batch_bound_var'), min_value=1) | int) }}
{%- endmacro %}

{#
    The materialization of a model that runs in pieces: batched_incremental
    on DuckDB; on Spark targets its SQL runs in one statement (Spark spills
    its shuffles and aggregations to disk and spreads them over workers):
    incremental on Databricks (Delta, the model's incremental_strategy), a
    table on open-source Spark, whose Parquet tables cannot delete rows
    (incremental_by_key).
#}
{% macro batched_incremental_by_key() -%}
    {{ return(adapter.dispatch('batched_incremental_by_key', 'holdfast')()) }}
{%- endmacro %}

{% macro default__batched_incremental_by_key() -%}
    {{ return('batched_incremental') }}
{%- endmacro %}
