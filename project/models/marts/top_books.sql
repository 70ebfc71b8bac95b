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
)
select
    row_number() over (order by s.bayes_score desc, s.explicit_count desc, s.isbn) as rank,
    s.isbn,
    b.title,
    b.author,
    s.explicit_count,
    round(cast(s.mean_rating as numeric), 2) as avg_rating,
    round(cast(s.bayes_score as numeric), 3) as bayes_score
from scored s
left join {{ ref('stg_books') }} b
    on b.isbn = s.isbn
