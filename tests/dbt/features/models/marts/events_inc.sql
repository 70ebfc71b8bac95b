{{ config(materialized='incremental', unique_key='id', on_schema_change='append_new_columns') }}
select id, amount_cents
{%- if var('with_extra_col', false) %}, amount_cents * 2 as doubled{% endif %}
from {{ ref('stg_events') }}
{% if is_incremental() %}
where id >= (select max(id) - 1 from {{ this }})
{% endif %}
