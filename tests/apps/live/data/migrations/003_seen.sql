-- A column notes:list does not read: changing it must not re-run the list.
ALTER TABLE notes ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
