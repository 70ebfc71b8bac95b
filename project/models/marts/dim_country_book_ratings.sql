-- Per country and book: the average explicit score and the number of ratings.
-- Aggregated on the keys first, the title joined after: carrying the title
-- through the group-by cost more than the rest of the model.
with per_book as (
    select
        coalesce(u.country, 'Unknown') as country,
        r.isbn,
        round(cast(avg(case when r.is_explicit then r.score end) as numeric), 2) as avg_score,
        count(*) as rating_count,
        count(case when r.is_explicit then 1 end) as explicit_count
    from {{ ref('stg_ratings') }} r
    join {{ ref('stg_users') }} u
        on u.user_id = r.user_id
    group by 1, 2
)
select
    p.country,
    p.isbn,
    b.title,
    p.avg_score,
    p.rating_count,
    p.explicit_count
from per_book p
left join {{ ref('stg_books') }} b
    on b.isbn = p.isbn
