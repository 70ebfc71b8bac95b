-- depends_on: {{ ref('events') }}
{{ config(alias='events_clean') }}
select
    id,
    {{ helpers.shout('kind') }} as kind_loud,
    {{ cents('amount') }} as amount_cents,
    happened_on,
    cast({{ dbt.date_trunc('month', 'happened_at') }} as date) as month_start,
    is_paid,
    coalesce(note, 'none') as note
from {{ source('raw', 'events') }}
