{% macro shout(column) -%}
    upper({{ column }}) || '{{ var("shout_suffix") }}'
{%- endmacro %}

{% macro quote_suffix() -%}
    {{ return(adapter.dispatch('quote_suffix', 'helpers')()) }}
{%- endmacro %}

{% macro default__quote_suffix() -%}'.'{%- endmacro %}

{# the columns of a relation but some, quoted (as dbt_utils.star does) #}
{% macro star_except(relation, except=[]) -%}
    {%- if not execute -%}{{ return('*') }}{%- endif -%}
    {%- set cols = adapter.get_columns_in_relation(relation) -%}
    {%- for c in cols if c.name | lower not in except -%}
        {{ adapter.quote(c.name) }}{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% test not_empty(model) %}
select 1 as empty from (select count(*) as n from {{ model }}) t where n = 0
{% endtest %}

{% test expression_true(model, expression) %}
{{ config(fail_calc='sum(1)') }}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
