{{ config(materialized='table', post_hook="create index {{ this.identifier }}_x on {{ this }} (x)") }}
select hash(i) as x from range(1500000) r(i)
