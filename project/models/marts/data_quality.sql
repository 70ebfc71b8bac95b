-- Rows loaded and quarantined per source and reason, for the last run.
with last_run as (
    select max(run_id) as run_id
    from {{ source('books', 'load_audit') }}
),
audit as (
    select a.*
    from {{ source('books', 'load_audit') }} a
    join last_run l on l.run_id = a.run_id
)
select run_id, source, table_name, 'loaded' as outcome, 'loaded' as reason,
       rows_loaded as row_count
from audit
union all
select q.run_id, q.source, a.table_name, 'quarantined' as outcome, q.reason,
       count(*) as row_count
from {{ source('books', 'quarantine') }} q
join audit a
    on a.source = q.source and a.run_id = q.run_id
group by q.run_id, q.source, a.table_name, q.reason
