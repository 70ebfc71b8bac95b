select
    country,
    count(*) as count,
    sum(case when is_explicit then 1 else 0 end) as explicit_count
from {{ ref('facts_all') }}
group by country
