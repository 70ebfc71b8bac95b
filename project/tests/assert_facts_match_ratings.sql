-- facts_all keeps every rating whose user exists (all of them, as ratings
-- reference users): no rating is lost in the joins.
select count(*) as missing
from {{ ref('stg_ratings') }} r
where not exists (select 1 from {{ ref('facts_all') }} f where f.user_id = r.user_id and f.isbn = r.isbn)
having count(*) > 0
