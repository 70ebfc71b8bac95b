-- Averages use explicit scores only (per-reader sums from int_user_ratings).
select
    a.age_bracket,
    a.bracket_order,
    {{ rating_sums('p') }}
from {{ ref('int_user_ratings') }} p
join {{ ref('age_brackets') }} a
    on a.user_id = p.user_id
group by a.age_bracket, a.bracket_order
