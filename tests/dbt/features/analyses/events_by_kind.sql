select kind_loud, count(*) from {{ ref('stg_events') }} group by 1
