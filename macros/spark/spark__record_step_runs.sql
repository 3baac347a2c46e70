{#
    Why: record_step_runs on Spark: one statement per call, so the table is
    made sure of through run_query and the hook itself is the insert.
#}
{% macro spark__record_step_runs(results) -%}
    {%- if execute and results | length > 0 -%}
        {%- do run_query(create_step_results_table()) -%}
        insert into ops.dbt_step_results
        values
        {%- for result in results %}
            (
                '{{ invocation_id }}',
                {{ run_started_at_utc() }},
                '{{ result.node.unique_id }}',
                '{{ result.node.resource_type }}',
                '{{ result.node.name }}',
                '{{ result.status }}',
                {{ result.execution_time or 0 }},
                {{ (result.adapter_response or {}).get('rows_affected', 'null') or 'null' }},
                {{ result.failures if result.failures is not none else 'null' }},
                '{{ (result.message or '') | string | replace("\\", "\\\\") | replace("'", "\\'") | truncate(500) }}',
                current_timestamp()
            ){{ "," if not loop.last }}
        {%- endfor %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
