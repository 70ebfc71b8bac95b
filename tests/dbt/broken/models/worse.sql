select 2
{% frobnicate x %}
