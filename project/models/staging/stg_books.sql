select
    isbn,
    title,
    author,
    year,
    publisher,
    isbn13,
    isbn_checksum_ok,
    image_url_s,
    image_url_m,
    image_url_l
from {{ source('books', 'books') }}
