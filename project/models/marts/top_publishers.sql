-- Per publisher: books rated, ratings, and the average explicit score.
{{ ratings_by('publisher') }}
