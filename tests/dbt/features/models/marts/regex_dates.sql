{%- set d = modules.datetime.date(2021, 3, 15) -%}
{%- set m = modules.re.match('(?P<y>\d{4})-(?P<m>\d\d)', d.isoformat()) -%}
{%- set words = modules.re.findall('[a-z]+(?=s\\b)', 'dbt projects models tests') -%}
select
    '{{ m.group("y") }}' as y,
    '{{ m.group("m") }}' as m,
    '{{ modules.re.sub("[aeiou]", "_", "dbt projects") }}' as vowels,
    '{{ words | join("|") }}' as singular,
    {{ var('start_year') }} as start_year,
    {{ "%d" | format(2 ** 10) }} as kilo,
    '{{ {"b": 2, "a": 1} | dictsort | map("first") | join("") }}' as keys,
    {% call wrapped('w') %}select 1 as one{% endcall %} as one,
    '{{ (d - modules.datetime.timedelta(days=20)).isoformat() }}' as earlier,
    {{ (d - modules.datetime.date(2021, 1, 1)).days }} as days_in
