select
    '2021' as y,
    '03' as m,
    'dbt pr_j_cts' as vowels,
    'project|model|test' as singular,
    2020 as start_year,
    1024 as kilo,
    'ab' as keys,
    (select * from (select 1 as one) w) as one,
    '2021-02-23' as earlier,
    73 as days_in