-- facts_all has one row per rating: none lost to the join on users (ratings
-- reference users), none doubled by the joins (user and book keys unique).
select r.n as ratings, f.n as facts
from (select count(*) as n from {{ ref('stg_ratings') }}) r
cross join (select count(*) as n from {{ ref('facts_all') }}) f
where r.n <> f.n
