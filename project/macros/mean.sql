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
