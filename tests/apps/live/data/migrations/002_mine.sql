-- Notes with an owner: a query each signed-in user sees only their own of.
CREATE TABLE mine (id INTEGER PRIMARY KEY, owner TEXT NOT NULL,
                   body TEXT NOT NULL);
