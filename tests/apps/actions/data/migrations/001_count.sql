-- The count of action runs, in the database so that every instance of the
-- app behind a balancer counts into one place.
CREATE TABLE count (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO count VALUES (1, 0);
