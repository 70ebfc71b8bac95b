-- rating 0 is an implicit interaction; 1..10 an explicit score. Whether
-- the book is known is facts_all's (it joins the books anyway): a join
-- here would be paid by every model that counts ratings (DuckDB does not
-- drop an unused left join; at scale 100 it cost rating_distribution 50 s).
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
    r.isbn_checksum_ok
from {{ source('books', 'ratings') }} r
