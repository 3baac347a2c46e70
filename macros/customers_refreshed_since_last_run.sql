{#
    Why: the current-state models are incremental per customer. On an
    incremental run they recompute only the customers whose inputs were
    written after this model's last refresh (every model stamps refreshed_at
    with the run's start), so a crashed run is caught up by the next one.
    Renders a subquery of customer ids; `relation` must carry customer_id and
    `timestamp_column`.
#}
{% macro customers_refreshed_since_last_run(relation, timestamp_column='refreshed_at') -%}
    select distinct customer_id
    from {{ relation }}
    where {{ timestamp_column }} > (
        select coalesce(max(refreshed_at), {{ earliest_timestamp() }}) from {{ this }}
    )
{%- endmacro %}
