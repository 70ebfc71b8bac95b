{% macro cents(column) -%}
    {{ return(adapter.dispatch('cents')(column)) }}
{%- endmacro %}

{% macro default__cents(column) -%}
    cast({{ column }} * 100 as integer)
{%- endmacro %}

{% macro duckdb__cents(column) -%}
    cast(round({{ column }} * 100) as integer)
{%- endmacro %}

{% macro postgres__cents(column) -%}
    round({{ column }} * 100)::integer
{%- endmacro %}

{# a call block: the caller's SQL, wrapped #}
{% macro wrapped(alias) -%}
    (select * from ({{ caller() }}) {{ alias }})
{%- endmacro %}

{# the root project overrides the package's default__quote_suffix (dispatch: search_order) #}
{% macro default__quote_suffix() -%}'?'{%- endmacro %}
