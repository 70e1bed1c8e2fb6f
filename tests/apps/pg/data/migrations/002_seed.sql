-- Applied once, whatever number of instances start together: a second
-- run would add a second row.
CREATE TABLE seeds (note TEXT NOT NULL);
INSERT INTO seeds VALUES ('seeded by 002');
