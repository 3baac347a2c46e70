{#
    Why: business-rule tests check only the rows the latest run wrote, so
    their cost follows the size of a run, not of the table. The latest run is
    the one with the newest generated_at (ties: greatest run_id).
#}
{% macro rows_of_latest_run(model) -%}
    select *
    from {{ model }}
    where run_id = (
        select run_id
        from {{ model }}
        order by generated_at desc, run_id desc
        limit 1
    )
{%- endmacro %}
