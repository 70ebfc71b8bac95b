-- Per publisher: books rated, ratings, and the average explicit score (per-book
-- sums from int_book_ratings, so the 1.1 M ratings are not joined again).
select
    b.publisher,
    count(*) as books_rated,
    cast(sum(p.rating_count) as bigint) as rating_count,
    cast(sum(p.explicit_count) as bigint) as explicit_count,
    round(cast({{ mean('sum(p.score_total)', 'sum(p.explicit_count)') }} as numeric), 2) as avg_rating
from {{ ref('int_book_ratings') }} p
join {{ ref('stg_books') }} b
    on b.isbn = p.isbn
where b.publisher is not null
group by b.publisher
