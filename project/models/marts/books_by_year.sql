select
    year,
    count(*) as book_count
from {{ ref('stg_books') }}
where year is not null
group by year
