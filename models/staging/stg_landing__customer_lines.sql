{{ config(unique_key='batch_id') }}

{{ landing_file_lines(source('landing', 'customer_files'), 'customers', ['.jsonl']) }}
