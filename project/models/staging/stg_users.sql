-- country: canonical (NULL when unmapped); country_raw: as loaded.
select
    u.user_id,
    u.age,
    u.city,
    u.state,
    l.country_out as country,
    u.country as country_raw,
    u.location
from {{ source('books', 'users') }} u
left join {{ ref('dim_country_lut') }} l
    on l.country_in = u.country
