select person_id, name, tier from {{ ref('people') }}
