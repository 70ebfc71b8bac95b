select 1
from {{ ref('nowhere') }}
