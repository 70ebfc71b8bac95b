
select hash(i) as x from range(1500000) r(i)