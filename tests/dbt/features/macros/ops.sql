{% macro announce(role='reader', times=1) %}
    {% for i in range(times) %}
        {% do log("would grant select to " ~ role ~ " (" ~ loop.index ~ ")", info=True) %}
    {% endfor %}
    {% set r = run_query("select 40 + 2 as answer") %}
    {% do log("the answer is " ~ r.columns[0].values()[0], info=True) %}
{% endmacro %}
