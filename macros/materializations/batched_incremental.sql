{#
    Why: some models cannot run as one statement. DuckDB's list aggregates do
    not spill, and reading or validating a whole landing zone (2 million
    customers, 20 million purchases) in one statement needs memory in
    proportion to the zone. These models run in bounded pieces, and running a
    model is a materialization's job, so the pieces are run here, by dbt, with
    every statement logged and written to target/run/.

    The contract (DuckDB; Spark targets run these models' SQL in one
    statement, incremental on Databricks and a table on open-source Spark,
    see batched_incremental_by_key):
    - the model's SQL is the statement of one piece: where the piece goes it
      calls batch_piece() (a filter, `true` when the SQL runs whole) or
      batch_piece(sql) (say, the files a piece reads). Compiled, the SQL runs
      whole (dbt compile, docs, unit tests, lint); each piece replaces every
      batch_piece span with its own text;
    - config `batch_planner` names the macro that cuts the run into pieces;
      it is called with the compiled SQL and returns the texts of the pieces
      (at least one), reading its bounds from the model's config
      (`batch_bound_var`, the var that bounds a piece, and the planner's own
      keys). Planners only read (select) while they plan;
    - one piece runs as the model's statement, like dbt's incremental
      materialization; several run into a scratch table (`create` then one
      `insert` per piece), which then stands for the model's SQL: a first
      build or --full-refresh creates the table from it, an incremental run
      uses it as its temp relation (on_schema_change, then the
      incremental_strategy on unique_key). `batch_scratch`: 'temp' (default:
      a temp table on the model's connection) or 'table' (a table in the
      model's schema, for pieces whose rows do not fit in memory: DuckDB keeps
      temp tables in memory), dropped after the run. An incremental run of
      one piece builds dbt's usual temp relation from it;
    - target/run/ shows every statement the run made, one per piece first.
#}
{% materialization batched_incremental, adapter='duckdb' -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
    {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
    {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
    {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}

    {%- set unique_key = config.get('unique_key') -%}
    {%- set full_refresh_mode = should_full_refresh() or (existing_relation is not none and existing_relation.is_view) -%}
    {%- set incremental_run = existing_relation is not none and not full_refresh_mode -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set scratch_in_schema = config.get('batch_scratch', 'temp') == 'table' -%}

    {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
    {{ drop_relation_if_exists(preexisting_backup_relation) }}

    {#- the pieces: planned before the hooks, as the model's SQL is compiled -#}
    {%- set planner = config.require('batch_planner') -%}
    {%- if planner not in context -%}
        {{ exceptions.raise_compiler_error("batched_incremental: no macro named " ~ planner ~ " (config batch_planner)") }}
    {%- endif -%}
    {%- set pieces = context[planner](compiled_code) -%}
    {%- if pieces | length == 0 -%}
        {{ exceptions.raise_compiler_error("batched_incremental: " ~ planner ~ " planned no piece") }}
    {%- endif -%}

    {%- set ran = [] -%}
    {%- set to_drop = [] -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}

    {#- several pieces: each is a statement of its own, committed as it
        ends (so memory follows the piece), into the scratch table -#}
    {%- if pieces | length > 1 or incremental_run -%}
        {%- if scratch_in_schema and pieces | length > 1 -%}
            {%- set scratch_temporary = false -%}
            {%- set scratch = target_relation.incorporate(path={'identifier': target_relation.identifier ~ '__dbt_pieces'}) -%}
            {{ drop_relation_if_exists(load_cached_relation(scratch)) }}
        {%- else -%}
            {%- set scratch_temporary = true -%}
            {%- set scratch = make_temp_relation(target_relation) -%}
        {%- endif -%}
        {%- do to_drop.append(scratch) -%}
        {%- for piece in pieces -%}
            {%- set piece_sql = batch_piece_sql(compiled_code, piece) -%}
            {%- if loop.first -%}
                {%- set statement_sql = create_table_as(scratch_temporary, scratch, piece_sql) -%}
            {%- else -%}
                {%- set statement_sql = 'insert into ' ~ scratch ~ '\n' ~ piece_sql -%}
            {%- endif -%}
            {%- call statement('batch_piece_' ~ loop.index, auto_begin=False) -%}
                {{ statement_sql }}
            {%- endcall -%}
            {%- do ran.append('-- piece ' ~ loop.index ~ ' of ' ~ (pieces | length) ~ '\n' ~ statement_sql) -%}
        {%- endfor -%}
        {%- set model_sql = 'select * from ' ~ scratch -%}
    {%- else -%}
        {%- set model_sql = batch_piece_sql(compiled_code, pieces[0]) -%}
    {%- endif -%}

    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set need_swap = false -%}
    {%- if existing_relation is none -%}
        {%- set build_sql = create_table_as(False, target_relation, model_sql) -%}
    {%- elif full_refresh_mode -%}
        {%- set build_sql = create_table_as(False, intermediate_relation, model_sql) -%}
        {%- set need_swap = true -%}
    {%- else -%}
        {%- do adapter.expand_target_column_types(from_relation=scratch, to_relation=target_relation) -%}
        {%- set dest_columns = process_schema_changes(on_schema_change, scratch, existing_relation) -%}
        {%- if not dest_columns -%}
            {%- set dest_columns = adapter.get_columns_in_relation(existing_relation) -%}
        {%- endif -%}
        {%- set incremental_strategy = config.get('incremental_strategy') or 'default' -%}
        {%- set incremental_predicates = config.get('predicates', none) or config.get('incremental_predicates', none) -%}
        {%- set strategy_sql_macro_func = adapter.get_incremental_strategy_macro(context, incremental_strategy) -%}
        {%- set build_sql = strategy_sql_macro_func({
            'target_relation': target_relation,
            'temp_relation': scratch,
            'unique_key': unique_key,
            'dest_columns': dest_columns,
            'incremental_predicates': incremental_predicates,
        }) -%}
    {%- endif -%}

    {% call statement('main') -%}
        {{ build_sql }}
    {%- endcall %}
    {%- do ran.append('-- the model\n' ~ build_sql) -%}
    {%- set written = [] -%}
    {%- for statement_sql in ran -%}
        {%- do written.append(statement_sql | trim | trim(';') | trim) -%}
    {%- endfor -%}
    {%- do write(written | join(';\n\n') ~ ';\n') -%}

    {%- if need_swap -%}
        {%- do adapter.rename_relation(target_relation, backup_relation) -%}
        {%- do adapter.rename_relation(intermediate_relation, target_relation) -%}
        {%- do to_drop.append(backup_relation) -%}
    {%- endif -%}

    {%- set should_revoke = should_revoke(existing_relation, full_refresh_mode) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke=should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    -- `COMMIT` happens here
    {%- do adapter.commit() -%}

    {%- for relation in to_drop -%}
        {%- do adapter.drop_relation(relation) -%}
    {%- endfor -%}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{%- endmaterialization %}
