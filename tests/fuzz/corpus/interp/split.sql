SELECT ';'; SELECT $$a;b$$; /* x; */ SELECT E'\';'
