-- Rows that go when their parent goes: a write the plan of the DELETE
-- does not show (the foreign key's cascade).
CREATE TABLE parents (id INTEGER PRIMARY KEY);
CREATE TABLE kids (id INTEGER PRIMARY KEY,
                   parent INTEGER NOT NULL REFERENCES parents ON DELETE CASCADE);
