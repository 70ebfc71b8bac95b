select
    author,
    count(distinct isbn) as books_rated,
    count(*) as rating_count,
    count(case when is_explicit then 1 end) as explicit_count,
    round(cast(avg(case when is_explicit then score end) as numeric), 2) as avg_rating
from {{ ref('facts_all') }}
where author is not null
group by author
