select id as customer_id, name, lower(email) as email,
       split_part(email, '@', 2) as email_top_level_domain, cast(signed_up as date) as signed_up
from {{ ref('raw_customers') }}
