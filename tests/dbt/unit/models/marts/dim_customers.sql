with customers as (
    select * from {{ ref('stg_customers') }}
),
domains as (
    select * from {{ ref('tlds') }}
)
select customers.customer_id, customers.email,
       (customers.email like '%@%.%' and domains.tld is not null) as is_valid_email_address
from customers
left join domains on customers.email_top_level_domain = domains.tld
