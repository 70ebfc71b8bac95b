select
    month_start,
    sum(case when kind_loud = 'BUY!' then amount_cents else 0 end) as buy_cents,
    sum(case when kind_loud = 'CLICK!' then amount_cents else 0 end) as click_cents,
    sum(case when kind_loud = 'VIEW!' then amount_cents else 0 end) as view_cents,
    count(*) as n
from ft.events_clean
group by month_start