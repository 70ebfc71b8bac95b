-- Averages use explicit scores only.
select
    age_bracket,
    bracket_order,
    count(*) as rating_count,
    count(case when is_explicit then 1 end) as explicit_count,
    round(cast(avg(case when is_explicit then score end) as numeric), 2) as avg_rating
from {{ ref('age_brackets') }}
group by age_bracket, bracket_order
