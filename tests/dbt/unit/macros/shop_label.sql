{% macro shop_label() %}'corner shop'{% endmacro %}
