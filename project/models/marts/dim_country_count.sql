-- Ratings per reader's country (per-reader counts from int_user_ratings).
select
    coalesce(u.country, 'Unknown') as country,
    cast(sum(p.rating_count) as bigint) as count,
    cast(sum(p.explicit_count) as bigint) as explicit_count
from {{ ref('int_user_ratings') }} p
join {{ ref('stg_users') }} u
    on u.user_id = p.user_id
group by coalesce(u.country, 'Unknown')
