select tier, count(*) as n from {{ ref('stg_people') }} group by tier
