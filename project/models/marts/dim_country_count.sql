select
    country,
    count(*) as count,
    count(case when is_explicit then 1 end) as explicit_count
from {{ ref('facts_all') }}
group by country
