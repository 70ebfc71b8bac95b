{{ config(materialized='ephemeral') }}
select * from {{ ref('stg_events') }} where is_paid
