select
    rating,
    rating > 0 as is_explicit,
    count(*) as rating_count
from {{ ref('stg_ratings') }}
group by rating
