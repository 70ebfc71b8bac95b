-- a singular test: the paid total is what the seed says
select * from {{ ref('paid_total') }} where total_cents <> 11774
