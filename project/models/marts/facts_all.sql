-- Every rating with its user and (when known) its book: a view on every
-- target. The marts aggregate the ratings on their keys first (models/
-- intermediate) and join the small results, which is cheaper than writing
-- these 1.1 M wide rows (PostgreSQL at scale 1: 3.7 s for the table alone).
{{ config(materialized='view') }}
select
    r.user_id,
    r.isbn,
    r.rating,
    r.score,
    r.is_explicit,
    b.isbn is not null as book_known,
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
