{#- Unit tests (dbt 1.8+): the SQL dbt's global project builds for one.
    unit.c calls these with each input's context (`this` is the input's
    relation, `model` its node) or the unit test's; a project may override
    them as it may override dbt's. -#}

{#- One input's rows: every column of the real relation, in its order; the
    given values cast to the column's type, the rest null. -#}
{% macro get_fixture_sql(rows, column_name_to_data_types) %}
-- Fixture for {{ model.name }}
{%- set types = column_name_to_data_types -%}
{%- if not types -%}
  {%- set types = {} -%}
  {%- for col in adapter.get_columns_in_relation(this) -%}
    {%- do types.update({col.name | lower: col.data_type}) -%}
  {%- endfor -%}
{%- endif -%}
{%- if not types -%}
  {{ exceptions.raise_compiler_error("Not able to get columns for unit test '" ~ model.name ~ "' from relation " ~ this ~ " because the relation doesn't exist") }}
{%- endif -%}
{%- set nulls = {} -%}
{%- for col_name, col_type in types.items() -%}
  {%- do nulls.update({col_name: safe_cast("null", col_type) | trim}) -%}
{%- endfor %}
{% for row in rows -%}
  {%- set cells = nulls.copy() -%}
  {%- do cells.update(format_row(row, types)) -%}
select {% for col_name, value in cells.items() %}{{ value }} as {{ col_name }}{{ ", " if not loop.last }}{% endfor %}
{%- if not loop.last %}
union all
{% endif -%}
{%- endfor -%}
{%- if rows | length == 0 -%}
select {% for col_name, value in nulls.items() %}{{ value }} as {{ col_name }}{{ ", " if not loop.last }}{% endfor %}
limit 0
{%- endif -%}
{% endmacro %}

{#- The expected rows, cast to the model's column types. -#}
{% macro get_expected_sql(rows, column_name_to_data_types) %}
{%- if rows | length == 0 -%}
select * from dbt_internal_unit_test_actual
limit 0
{%- else -%}
{%- for row in rows -%}
{%- set cells = format_row(row, column_name_to_data_types) -%}
select {% for col_name, value in cells.items() %}{{ value }} as {{ col_name }}{{ ", " if not loop.last }}{% endfor %}
{%- if not loop.last %}
union all
{% endif -%}
{%- endfor -%}
{%- endif -%}
{% endmacro %}

{#- A row's values as SQL: names compared without case, strings quoted,
    None as null, each cast to its column's type. -#}
{%- macro format_row(row, column_name_to_data_types) -%}
{%- set cells = {} -%}
{%- for key, value in row.items() -%}
  {%- set col_name = key | lower -%}
  {%- if col_name not in column_name_to_data_types -%}
    {%- set whose = "expected output" if model.resource_type == 'unit_test' else "'" ~ model.name ~ "'" -%}
    {{ exceptions.raise_compiler_error("Invalid column name: '" ~ col_name ~ "' in unit test fixture for " ~ whose ~ ".\nAccepted columns for " ~ whose ~ " are: " ~ (column_name_to_data_types.keys() | list)) }}
  {%- endif -%}
  {%- set literal = value -%}
  {%- if value is string -%}
    {%- set literal = dbt.string_literal(dbt.escape_single_quotes(value)) -%}
  {%- elif value is none -%}
    {%- set literal = 'null' -%}
  {%- endif -%}
  {%- do cells.update({col_name: safe_cast(literal, column_name_to_data_types[col_name])}) -%}
{%- endfor -%}
{{ return(cells) }}
{%- endmacro -%}

{% macro get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) -%}
  {{ adapter.dispatch('get_unit_test_sql', 'dbt')(main_sql, expected_fixture_sql, expected_column_names) }}
{%- endmacro %}

{#- The model's rows and the expected ones in one result, told apart by
    actual_or_expected. -#}
{% macro default__get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) -%}
-- Build actual result given inputs
with dbt_internal_unit_test_actual as (
  select
    {% for col_name in expected_column_names %}{{ col_name }}, {% endfor %}{{ dbt.string_literal("actual") }} as {{ adapter.quote("actual_or_expected") }}
  from (
    {{ main_sql }}
  ) _dbt_internal_unit_test_actual
),
-- Build expected result
dbt_internal_unit_test_expected as (
  select
    {% for col_name in expected_column_names %}{{ col_name }}, {% endfor %}{{ dbt.string_literal("expected") }} as {{ adapter.quote("actual_or_expected") }}
  from (
    {{ expected_fixture_sql }}
  ) _dbt_internal_unit_test_expected
)
-- Union actual and expected results
select * from dbt_internal_unit_test_actual
union all
select * from dbt_internal_unit_test_expected
{%- endmacro %}
