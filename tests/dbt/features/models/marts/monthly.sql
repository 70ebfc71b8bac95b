{#- one column per kind: the kinds come from the warehouse when executing -#}
{%- if execute -%}
    {%- set kinds = run_query("select distinct kind from " ~ ref('events') ~ " order by 1").columns[0].values() -%}
{%- else -%}
    {%- set kinds = [] -%}
{%- endif -%}
select
    month_start,
{%- for k in kinds %}
    sum(case when kind_loud = '{{ k | upper }}!' then amount_cents else 0 end) as {{ k }}_cents,
{%- endfor %}
    count(*) as n
from {{ ref('stg_events') }}
group by month_start
