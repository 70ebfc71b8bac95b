select * from {{ ref('scores') }}
union all
select * from {{ ref('scores', v=1) }}
