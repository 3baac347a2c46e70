-- Run in pieces of at most landing_read_group_bytes of files each
-- (materialization batched_incremental; macro landing_file_lines).
{{ config(
    materialized=batched_incremental_by_key(),
    unique_key='batch_id',
    incremental_strategy=incremental_strategy_by_key(key_is_unique=false),
    batch_planner='landing_file_pieces',
    batch_bound_var='landing_read_group_bytes',
    landing_subfolder='customers',
    landing_extensions=['.jsonl'],
) }}

{{ landing_file_lines(source('landing', 'customer_files'), 'customers', ['.jsonl']) }}
