{# The project's own schema naming: seeds get a _seeds suffix (dbt's
   default would put them in <target>_raw). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif node.resource_type == 'seed' -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}_seeds
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
