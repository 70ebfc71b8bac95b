-- One row per rated ISBN, over the ratings whose reader is known (the rows
-- of facts_all): the counts and the sum of the explicit scores, for the
-- marts by author and publisher.
select
    r.isbn,
    count(*) as rating_count,
    count(case when r.is_explicit then 1 end) as explicit_count,
    sum(case when r.is_explicit then r.score end) as score_total
from {{ ref('stg_ratings') }} r
join {{ ref('stg_users') }} u
    on u.user_id = r.user_id
group by r.isbn
