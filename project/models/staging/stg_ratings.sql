-- rating 0 is an implicit interaction; 1..10 an explicit score.
-- score is the rating to average: Redshift's AVG over an integer column
-- returns an integer (it truncates), so there it is cast first; DuckDB and
-- PostgreSQL average integers exactly.
select
    r.user_id,
    r.isbn,
    r.rating,
    {% if target.type == 'redshift' %}cast(r.rating as float8){% else %}r.rating{% endif %} as score,
    r.rating > 0 as is_explicit,
    r.isbn13,
    r.isbn_checksum_ok,
    b.isbn is not null as book_known
from {{ source('books', 'ratings') }} r
left join {{ source('books', 'books') }} b
    on b.isbn = r.isbn
