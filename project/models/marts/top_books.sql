-- Bayesian average: each book's explicit scores plus `bayes_prior_weight`
-- pseudo-ratings at the global explicit mean; ties broken by count, then ISBN.
{% set w = var('bayes_prior_weight') %}
with per_book as (
    select isbn, count(*) as explicit_count, avg(score) as mean_rating
    from {{ ref('stg_ratings') }}
    where is_explicit
    group by isbn
),
global as (
    select avg(score) as mean_rating
    from {{ ref('stg_ratings') }}
    where is_explicit
),
scored as (
    select
        p.isbn,
        p.explicit_count,
        p.mean_rating,
        (p.explicit_count * p.mean_rating + {{ w }} * g.mean_rating)
            / (p.explicit_count + {{ w }}) as bayes_score
    from per_book p
    cross join global g
),
-- ranked on the narrow rows, before the titles join: the window is one
-- sort of every rated book, held in memory; with the titles and authors in
-- it, it ran out of a 5.8 GB cap at scale 100
ranked as (
    select
        row_number() over (order by bayes_score desc, explicit_count desc, isbn) as rank,
        isbn,
        explicit_count,
        mean_rating,
        bayes_score
    from scored
)
select
    s.rank,
    s.isbn,
    b.title,
    b.author,
    s.explicit_count,
    round(cast(s.mean_rating as numeric), 2) as avg_rating,
    round(cast(s.bayes_score as numeric), 3) as bayes_score
from ranked s
left join {{ ref('stg_books') }} b
    on b.isbn = s.isbn
