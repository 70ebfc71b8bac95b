-- Every rating with its user and (when known) its book.
select
    r.user_id,
    r.isbn,
    r.rating,
    r.score,
    r.is_explicit,
    r.book_known,
    u.age,
    u.city,
    u.state,
    coalesce(u.country, 'Unknown') as country,
    b.title,
    b.author,
    b.year,
    b.publisher
from {{ ref('stg_ratings') }} r
join {{ ref('stg_users') }} u
    on u.user_id = r.user_id
left join {{ ref('stg_books') }} b
    on b.isbn = r.isbn
