-- rating 0 is an implicit interaction; 1..10 an explicit score.
select
    r.user_id,
    r.isbn,
    r.rating,
    r.rating > 0 as is_explicit,
    r.isbn13,
    r.isbn_checksum_ok,
    b.isbn is not null as book_known
from {{ source('books', 'ratings') }} r
left join {{ source('books', 'books') }} b
    on b.isbn = r.isbn
