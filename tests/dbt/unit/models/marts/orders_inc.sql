{{ config(materialized='incremental', unique_key='order_id') }}
select order_id, customer_id, amount, ordered_at, {{ shop_label() }} as label,
       {{ dbt.current_timestamp() }} as loaded_at
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where ordered_at > (select max(ordered_at) from {{ this }})
{% endif %}
