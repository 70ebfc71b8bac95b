{#- mean(total, n): an average rebuilt from per-key sums, equal to what the
    warehouse's avg() of the integer scores returns: DuckDB's avg is
    double(sum) / count, PostgreSQL's numeric(sum) / count; Redshift's score
    is float8 already. NULL when n is 0 (no explicit score). -#}
{% macro mean(total, n) -%}
{%- if target.type == 'postgres' -%}
cast({{ total }} as numeric) / nullif({{ n }}, 0)
{%- else -%}
cast({{ total }} as double precision) / nullif({{ n }}, 0)
{%- endif -%}
{%- endmacro %}

{#- rating_sums(p): per-key sums of relation p (rating_count,
    explicit_count, score_total) summed up again: rating_count,
    explicit_count and avg_rating, typed as the ratings' own count() and
    avg() would be. -#}
{% macro rating_sums(p) -%}
cast(sum({{ p }}.rating_count) as bigint) as rating_count,
    cast(sum({{ p }}.explicit_count) as bigint) as explicit_count,
    round(cast({{ mean('sum(' ~ p ~ '.score_total)', 'sum(' ~ p ~ '.explicit_count)') }} as numeric), 2) as avg_rating
{%- endmacro %}
