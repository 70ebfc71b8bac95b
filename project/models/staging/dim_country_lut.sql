-- Raw country spellings -> one canonical name (the seed, as a model).
select country_in, country_out
from {{ ref('country_lut') }}
