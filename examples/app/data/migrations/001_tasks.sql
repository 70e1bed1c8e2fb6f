-- Each signed-in user's tasks. owner is the subject of the token that
-- made the task; the functions in data/tasks.c never show or touch a
-- task of another owner.
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX tasks_owner ON tasks (owner, id);
