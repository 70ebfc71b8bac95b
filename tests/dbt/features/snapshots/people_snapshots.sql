{% snapshot people_snapshot %}
{{ config(unique_key='person_id', strategy='timestamp', updated_at='updated', invalidate_hard_deletes=True) }}
select person_id, name,
    {% if var('round', 1) == 2 %}case when person_id = 2 then 'gold' else tier end{% else %}tier{% endif %} as tier,
    {% if var('round', 1) == 2 %}case when person_id = 2 then cast('2021-06-01 00:00:00' as timestamp) else cast(updated as timestamp) end{% else %}cast(updated as timestamp){% endif %} as updated
from {{ ref('people') }}
{% if var('round', 1) == 2 %}where person_id <> 3{% endif %}
{% endsnapshot %}

{% snapshot tier_snapshot %}
{{ config(unique_key='person_id', strategy='check', check_cols=['tier']) }}
select person_id,
    {% if var('round', 1) == 2 %}case when person_id = 1 then 'platinum' else tier end{% else %}tier{% endif %} as tier
from {{ ref('people') }}
{% endsnapshot %}
