CREATE SCHEMA IF NOT EXISTS books_schema;
CREATE SCHEMA IF NOT EXISTS books_schema_stage;
DROP TABLE IF EXISTS books_schema_stage.books;
CREATE TABLE books_schema_stage.books (isbn VARCHAR(32) NOT NULL, title VARCHAR(65535), author VARCHAR(65535), year INTEGER, publisher VARCHAR(65535), image_url_s VARCHAR(65535), image_url_m VARCHAR(65535), image_url_l VARCHAR(65535), isbn13 VARCHAR(32), isbn_checksum_ok BOOLEAN NOT NULL) DISTKEY(isbn) SORTKEY(isbn);
COPY books_schema_stage.books FROM 's3://book-lake/books/run=7/books/' IAM_ROLE 'arn:aws:iam::123456789012:role/bookpipe-copy' FORMAT AS PARQUET;
-- check: the stage's books holds as many rows as were cleaned
DROP TABLE IF EXISTS books_schema_stage.users;
CREATE TABLE books_schema_stage.users (user_id INTEGER NOT NULL, age INTEGER, city VARCHAR(65535), state VARCHAR(65535), country VARCHAR(65535), location VARCHAR(65535)) DISTSTYLE ALL SORTKEY(user_id);
COPY books_schema_stage.users FROM 's3://book-lake/books/run=7/users/' IAM_ROLE 'arn:aws:iam::123456789012:role/bookpipe-copy' FORMAT AS PARQUET;
-- check: the stage's users holds as many rows as were cleaned
DROP TABLE IF EXISTS books_schema_stage.ratings;
CREATE TABLE books_schema_stage.ratings (user_id INTEGER NOT NULL, isbn VARCHAR(32) NOT NULL, rating INTEGER NOT NULL, is_implicit BOOLEAN NOT NULL, isbn_checksum_ok BOOLEAN NOT NULL, isbn13 VARCHAR(32)) DISTKEY(isbn) COMPOUND SORTKEY(isbn, user_id);
COPY books_schema_stage.ratings FROM 's3://book-lake/books/run=7/ratings/' IAM_ROLE 'arn:aws:iam::123456789012:role/bookpipe-copy' FORMAT AS PARQUET;
-- check: the stage's ratings holds as many rows as were cleaned
DROP TABLE IF EXISTS books_schema_stage.quarantine;
CREATE TABLE books_schema_stage.quarantine (run_id BIGINT NOT NULL, source VARCHAR(256) NOT NULL, line BIGINT NOT NULL, reason VARCHAR(256) NOT NULL, raw VARCHAR(65535)) DISTSTYLE EVEN;
-- INSERT INTO the stage's quarantine: its rows from the local stage, in batches
DROP TABLE IF EXISTS books_schema_stage.load_audit;
CREATE TABLE books_schema_stage.load_audit (run_id BIGINT NOT NULL, source VARCHAR(256) NOT NULL, table_name VARCHAR(256) NOT NULL, rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, rows_repaired BIGINT NOT NULL, values_nulled VARCHAR(65535) NOT NULL, repairs VARCHAR(65535) NOT NULL, quarantined_by_reason VARCHAR(65535) NOT NULL, format VARCHAR(256) NOT NULL, bytes_read BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL) DISTSTYLE EVEN;
-- INSERT INTO the stage's load_audit: its rows from the local stage, in batches
BEGIN;
CREATE TABLE IF NOT EXISTS books_schema.books (isbn VARCHAR(32) NOT NULL, title VARCHAR(65535), author VARCHAR(65535), year INTEGER, publisher VARCHAR(65535), image_url_s VARCHAR(65535), image_url_m VARCHAR(65535), image_url_l VARCHAR(65535), isbn13 VARCHAR(32), isbn_checksum_ok BOOLEAN NOT NULL) DISTKEY(isbn) SORTKEY(isbn);
DELETE FROM books_schema.books;
INSERT INTO books_schema.books SELECT * FROM books_schema_stage.books;
CREATE TABLE IF NOT EXISTS books_schema.users (user_id INTEGER NOT NULL, age INTEGER, city VARCHAR(65535), state VARCHAR(65535), country VARCHAR(65535), location VARCHAR(65535)) DISTSTYLE ALL SORTKEY(user_id);
DELETE FROM books_schema.users;
INSERT INTO books_schema.users SELECT * FROM books_schema_stage.users;
CREATE TABLE IF NOT EXISTS books_schema.ratings (user_id INTEGER NOT NULL, isbn VARCHAR(32) NOT NULL, rating INTEGER NOT NULL, is_implicit BOOLEAN NOT NULL, isbn_checksum_ok BOOLEAN NOT NULL, isbn13 VARCHAR(32)) DISTKEY(isbn) COMPOUND SORTKEY(isbn, user_id);
DELETE FROM books_schema.ratings;
INSERT INTO books_schema.ratings SELECT * FROM books_schema_stage.ratings;
CREATE TABLE IF NOT EXISTS books_schema.quarantine (run_id BIGINT NOT NULL, source VARCHAR(256) NOT NULL, line BIGINT NOT NULL, reason VARCHAR(256) NOT NULL, raw VARCHAR(65535)) DISTSTYLE EVEN;
DELETE FROM books_schema.quarantine WHERE run_id IN (SELECT run_id FROM books_schema_stage.load_audit);
INSERT INTO books_schema.quarantine SELECT * FROM books_schema_stage.quarantine;
CREATE TABLE IF NOT EXISTS books_schema.load_audit (run_id BIGINT NOT NULL, source VARCHAR(256) NOT NULL, table_name VARCHAR(256) NOT NULL, rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, rows_repaired BIGINT NOT NULL, values_nulled VARCHAR(65535) NOT NULL, repairs VARCHAR(65535) NOT NULL, quarantined_by_reason VARCHAR(65535) NOT NULL, format VARCHAR(256) NOT NULL, bytes_read BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL) DISTSTYLE EVEN;
DELETE FROM books_schema.load_audit WHERE run_id IN (SELECT run_id FROM books_schema_stage.load_audit);
INSERT INTO books_schema.load_audit SELECT * FROM books_schema_stage.load_audit;
COMMIT;
DROP TABLE books_schema_stage.books;
DROP TABLE books_schema_stage.users;
DROP TABLE books_schema_stage.ratings;
DROP TABLE books_schema_stage.quarantine;
DROP TABLE books_schema_stage.load_audit;
