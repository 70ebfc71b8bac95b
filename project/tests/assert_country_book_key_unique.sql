-- (country, isbn) is the key of dim_country_book_ratings.
select country, isbn, count(*) as n
from {{ ref('dim_country_book_ratings') }}
group by country, isbn
having count(*) > 1
