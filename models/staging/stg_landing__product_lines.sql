{{ config(unique_key='batch_id') }}

{{ landing_file_lines(
    source('landing', 'product_files'), 'products', ['.jsonl', '.csv'],
    csv_number_columns=['price', 'stockQuantity']
) }}
