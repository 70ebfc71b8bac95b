{#- ratings_by(column): per value of a books column (author, publisher):
    books rated, ratings, explicit ratings and their average score, from
    the per-book sums of int_book_ratings (the 1.1 M ratings are not joined
    again). -#}
{% macro ratings_by(column) %}
select
    b.{{ column }},
    count(*) as books_rated,
    {{ rating_sums('p') }}
from {{ ref('int_book_ratings') }} p
join {{ ref('stg_books') }} b
    on b.isbn = p.isbn
where b.{{ column }} is not null
group by b.{{ column }}
{% endmacro %}
