-- an ephemeral parent (stg_orders) and a var
select c.customer_id, c.name, sum(o.amount) as total,
       sum(o.amount) >= {{ var('vip_threshold') }} as is_vip,
       '{{ env_var("UNIT_REGION", "eu") }}' as region
from {{ ref('stg_customers') }} c
join {{ ref('stg_orders') }} o on o.customer_id = c.customer_id
group by c.customer_id, c.name
