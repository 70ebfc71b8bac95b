select {{ ref("a") }} {% if x and not y %}1{% elif z == "q" %}2{% else %}3{% endif %}
{% set n = [1, 2] %}{{ n }} {{ e(1) }} {{ u }}
