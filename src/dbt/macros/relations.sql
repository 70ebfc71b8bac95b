{#- The relation and statement helpers of dbt's global project that
    projects and packages call (materializations themselves run in C). -#}

{% macro get_columns_in_relation(relation) -%}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{%- endmacro %}

{% macro load_cached_relation(relation) %}
    {% do return(adapter.get_relation(
        database=relation.database,
        schema=relation.schema,
        identifier=relation.identifier
    )) -%}
{% endmacro %}

{% macro drop_relation_if_exists(relation) %}
    {% if relation is not none %}
        {{ adapter.drop_relation(relation) }}
    {% endif %}
{% endmacro %}

{% macro drop_relation(relation) -%}
    {{ adapter.drop_relation(relation) }}
{%- endmacro %}

{% macro rename_relation(from_relation, to_relation) -%}
    {{ adapter.rename_relation(from_relation, to_relation) }}
{%- endmacro %}

{% macro truncate_relation(relation) -%}
    {{ adapter.truncate_relation(relation) }}
{%- endmacro %}

{% macro create_schema(relation) -%}
    {{ adapter.create_schema(relation) }}
{%- endmacro %}

{% macro drop_schema(relation) -%}
    {{ adapter.drop_schema(relation) }}
{%- endmacro %}

{% macro list_relations_without_caching(schema_relation) %}
    {{ return(adapter.list_relations_without_caching(schema_relation)) }}
{% endmacro %}

{% macro make_temp_relation(base_relation, suffix='__dbt_tmp') %}
    {{ return(adapter.dispatch('make_temp_relation', 'dbt')(base_relation, suffix)) }}
{% endmacro %}

{% macro default__make_temp_relation(base_relation, suffix) %}
    {%- set tmp_identifier = base_relation.identifier ~ suffix -%}
    {% do return(base_relation.incorporate(path={"identifier": tmp_identifier})) %}
{% endmacro %}

{#- PostgreSQL's and DuckDB's temporary tables live in a schema of their
    own: the name alone, made unique by the time (as dbt-postgres and
    dbt-duckdb name them) -#}
{% macro duckdb__make_temp_relation(base_relation, suffix) %}
    {{ return(postgres__make_temp_relation(base_relation, suffix)) }}
{% endmacro %}

{% macro postgres__make_temp_relation(base_relation, suffix) %}
    {%- set stamp = modules.datetime.datetime.now().strftime("%H%M%S%f") -%}
    {%- set tmp_identifier = base_relation.identifier ~ suffix ~ stamp -%}
    {% do return(base_relation.incorporate(path={"identifier": tmp_identifier, "schema": none,
                                                  "database": none})) %}
{% endmacro %}

{% macro make_intermediate_relation(base_relation, suffix='__dbt_tmp') %}
    {{ return(dbt.make_temp_relation(base_relation, suffix)) }}
{% endmacro %}

{% macro make_backup_relation(base_relation, backup_relation_type, suffix='__dbt_backup') %}
    {%- set backup_identifier = base_relation.identifier ~ suffix -%}
    {% do return(base_relation.incorporate(path={"identifier": backup_identifier}, type=backup_relation_type)) %}
{% endmacro %}

{% macro get_create_table_as_sql(temporary, relation, sql) -%}
    {{ return(dbt.create_table_as(temporary, relation, sql)) }}
{%- endmacro %}

{% macro create_table_as(temporary, relation, compiled_code, language='sql') -%}
    create {% if temporary -%}temporary{%- endif %} table
    {{ relation.include(database=(not temporary), schema=(not temporary)) }}
    as (
    {{ compiled_code }}
    );
{%- endmacro %}

{% macro get_create_view_as_sql(relation, sql) -%}
    {{ return(dbt.create_view_as(relation, sql)) }}
{%- endmacro %}

{% macro create_view_as(relation, sql) -%}
    create view {{ relation }} as (
    {{ sql }}
    );
{%- endmacro %}

{% macro get_columns_in_query(select_sql) -%}
    {% call statement('get_columns_in_query', fetch_result=True, auto_begin=False) -%}
        select * from (
            {{ select_sql }}
        ) as __dbt_sbq
        where false
        limit 0
    {% endcall %}
    {{ return(load_result('get_columns_in_query').table.columns | map(attribute='name') | list) }}
{%- endmacro %}

{% macro get_quoted_csv(column_names) %}
    {% set quoted = [] %}
    {% for col in column_names -%}
        {%- do quoted.append(adapter.quote(col)) -%}
    {%- endfor %}
    {%- set dest_cols_csv = quoted | join(', ') -%}
    {{ return(dest_cols_csv) }}
{% endmacro %}

{% macro noop_statement(name=None, message=None, code=None, rows_affected=None, res=None) -%}
    {{ store_result(name, response=message, agate_table=res) }}
{%- endmacro %}

{% macro persist_docs(relation, model, for_relation=true, for_columns=true) -%}
{%- endmacro %}

{% macro apply_grants(relation, grant_config, should_revoke) -%}
{%- endmacro %}

{% macro set_sql_header(config) -%}
    {{ config.set('sql_header', caller()) }}
{%- endmacro %}

{% macro run_hooks(hooks, inside_transaction=True) %}
    {% for hook in hooks %}
        {% call statement(auto_begin=inside_transaction) %}
            {{ hook.get('sql') if hook is mapping else hook }}
        {% endcall %}
    {% endfor %}
{% endmacro %}

{% macro get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    select
      {{ fail_calc }} as failures,
      {{ fail_calc }} {{ warn_if }} as should_warn,
      {{ fail_calc }} {{ error_if }} as should_error
    from (
      {{ main_sql }}
      {{ "limit " ~ limit if limit != none }}
    ) dbt_internal_test
{%- endmacro %}
