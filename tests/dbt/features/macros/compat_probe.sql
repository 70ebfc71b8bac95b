{# What packages reach for beyond the documented context (elementary,
   Fivetran's): run with `dbt run-operation compat_probe` and read the log. #}
{% macro compat_probe() %}
  {% set t = run_query("select 1 as id union all select 2 as id order by 1") %}
  {% do print("in column: " ~ (2 in t.columns[0]) ~ " " ~ (3 in t.columns['id'])) %}
  {% do print("in test: " ~ ([1, 2, 3] | select("in", t.columns[0]) | list)) %}
  {% do print("renamed: " ~ (t.rename({'id': 'renamed'}).column_names | list)) %}
  {% do print("dbt.run_query: " ~ dbt.run_query("select 42 as x").columns[0].values()[0]) %}
  {% set conf = builtins.ref.config %}
  {% do print("runtime config: " ~ conf.project_name ~ " " ~ conf.dependencies['helpers'].project_name) %}
  {% do print("to_dict: " ~ ({'a': 1}.to_dict() == {'a': 1})) %}
  {% do run_query("create temporary table compat_probe_tmp as select 1 as a_col") %}
  {% set cols = adapter.get_columns_in_relation(api.Relation.create(identifier='compat_probe_tmp')) %}
  {% do print("temp columns: " ~ (cols | map(attribute='name') | list)) %}
  {% do print("temp relation: " ~ make_temp_relation(api.Relation.create(schema='s', identifier='base'))) %}
{% endmacro %}
