-- Each reader who rated: counts, country, and the average explicit score.
select
    p.user_id,
    coalesce(u.country, 'Unknown') as country,
    p.rating_count,
    p.explicit_count,
    round(cast({{ mean('p.score_total', 'p.explicit_count') }} as numeric), 2) as avg_rating
from {{ ref('int_user_ratings') }} p
left join {{ ref('stg_users') }} u
    on u.user_id = p.user_id
