{#
    Why: a fit model (int_segment_models, int_recommender_models) gains a row
    with its pickled model at every refit, and a step loads the newest one
    with a top-1 query. DuckDB reads the blob column of every row of that
    scan, the filter and the top-n on other columns notwithstanding (40 rows
    of 8 MB: 320 MB read and held to load one), so with every blob kept each
    scheduled run read and held more than the last. After each build of the
    model, the blobs of all but the newest `model_blobs_kept` rows are set to
    null; the rows stay, as the record of every fit (id, reason, parameters,
    checksum). A step only ever loads the newest model.
    On Spark the hook does nothing: a Parquet table cannot be updated in place.
#}
{% macro keep_latest_model_blobs(key) -%}
    {%- if target.type == 'duckdb' -%}
        update {{ this }}
        set model_blob = null
        where
            model_blob is not null
            and {{ key }} not in (
                select {{ key }}
                from {{ this }}
                order by fitted_at desc, {{ key }} desc
                limit {{ checked_var('model_blobs_kept', min_value=1) | int }}
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
