-- Applied once: a second run would add a second row.
CREATE TABLE seeds (note TEXT NOT NULL);
INSERT INTO seeds VALUES ('seeded by 002');
CREATE TABLE log (client TEXT NOT NULL, seq INTEGER NOT NULL,
                  PRIMARY KEY (client, seq));
