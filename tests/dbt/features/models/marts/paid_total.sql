{{ config(pre_hook="insert into " ~ target.schema ~ "_audit_runs values ('pre', 0)") }}
select sum(amount_cents) as total_cents, count(*) as n from {{ ref('eph_paid') }}
