
    

select kind_loud
from (select * from ft.events_clean where is_paid) dbt_subquery
where kind_loud is null

