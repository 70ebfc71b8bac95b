select 2 as version, 20 as score
