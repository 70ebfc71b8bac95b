{%- set names = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                 | selectattr('package_name', 'equalto', project_name)
                 | map(attribute='name') | unique | sort | list -%}
select '{{ names | join(",") }}' as model_names, {{ names | length }} as n_models
