with __dbt__cte__eph_active as (

select * from fx.stg_people where active
)
select 'duckdb' as engine, id, name,
    'hello' as greeting,
    'none' as suffix,
    'dev/fx' as target_info,
    score >= 2 as above_threshold
from __dbt__cte__eph_active