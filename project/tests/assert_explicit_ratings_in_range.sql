-- An explicit score is 1..10; anything else is a cleaning bug.
select *
from {{ ref('stg_ratings') }}
where is_explicit and (rating < 1 or rating > 10)
