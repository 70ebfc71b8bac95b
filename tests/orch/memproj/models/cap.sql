{{ config(materialized='table') }}
select current_setting('memory_limit') as cap
