select {{ helpers.star_except(ref('stg_events'), ['note', 'month_start']) }}
from {{ ref('stg_events') }}
