-- Averages use explicit scores only (per-reader sums from int_user_ratings).
select
    a.age_bracket,
    a.bracket_order,
    cast(sum(p.rating_count) as bigint) as rating_count,
    cast(sum(p.explicit_count) as bigint) as explicit_count,
    round(cast({{ mean('sum(p.score_total)', 'sum(p.explicit_count)') }} as numeric), 2) as avg_rating
from {{ ref('int_user_ratings') }} p
join {{ ref('age_brackets') }} a
    on a.user_id = p.user_id
group by a.age_bracket, a.bracket_order
