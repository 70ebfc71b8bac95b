select 1 as version, 10 as score
