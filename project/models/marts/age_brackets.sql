{{ config(materialized='ephemeral') }}
-- Each user's age bracket with a sort key, so that charts keep them in age order.
select
    user_id,
    case
        when age is null then 'Unknown'
        when age < 18 then 'Under 18'
        when age < 25 then '18-24'
        when age < 35 then '25-34'
        when age < 45 then '35-44'
        when age < 55 then '45-54'
        when age < 65 then '55-64'
        else '65+'
    end as age_bracket,
    case
        when age is null then 99
        when age < 18 then 1
        when age < 25 then 2
        when age < 35 then 3
        when age < 45 then 4
        when age < 55 then 5
        when age < 65 then 6
        else 7
    end as bracket_order
from {{ ref('stg_users') }}
