select
    r.user_id,
    coalesce(u.country, 'Unknown') as country,
    count(*) as rating_count,
    count(case when r.is_explicit then 1 end) as explicit_count,
    round(cast(avg(case when r.is_explicit then r.score end) as numeric), 2) as avg_rating
from {{ ref('stg_ratings') }} r
left join {{ ref('stg_users') }} u
    on u.user_id = r.user_id
group by r.user_id, coalesce(u.country, 'Unknown')
