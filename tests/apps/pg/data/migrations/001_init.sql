-- The PostgreSQL test app (tests/e2e/pg.test.mjs): a counter for the
-- concurrency test, notes with a sequence, values of every kind.
CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO counter VALUES (1, 0);
CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL);
