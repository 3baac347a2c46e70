{#
    Why: record_step_runs on Spark: one statement per hook, so the hook is
    only the insert; the run-start hooks created the table.
#}
{% macro spark__record_step_runs(results) -%}
    {%- if execute and results | length > 0 -%}
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
