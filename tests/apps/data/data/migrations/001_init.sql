-- The test app's tables: a counter, tasks with owners, a log of calls
-- (a function that ran leaves a row), items for hostile values, and the
-- durability log.
CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO counter VALUES (1, 0);
CREATE TABLE calls (what TEXT NOT NULL);
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  owner TEXT,
  title TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE items (id INTEGER PRIMARY KEY, s TEXT, i INTEGER, n REAL,
                    b INTEGER, a TEXT, o TEXT, x TEXT);
-- The tables, for items:census, as each engine lists them (PostgreSQL's
-- is in 001_init.postgres.sql).
CREATE VIEW cairn_tables AS
  SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%';
