-- Per country and book: the average explicit score and the number of ratings.
select
    country,
    isbn,
    max(title) as title,
    round(cast(avg(case when is_explicit then score end) as numeric), 2) as avg_score,
    count(*) as rating_count,
    count(case when is_explicit then 1 end) as explicit_count
from {{ ref('facts_all') }}
group by country, isbn
