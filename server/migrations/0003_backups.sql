-- Epochs of the change feed. District sync tells restored data from new changes by the
-- epoch: restoring a backup starts a new epoch in the restored database (and so records
-- the restore there); which backups exist is kept outside the database, in
-- DATA/backups/state.json, because a restore would roll it back.
CREATE TABLE feed_epoch (
    id         INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    reason     TEXT NOT NULL,
    source     TEXT                          -- the backup file a restore came from
);
INSERT INTO feed_epoch(id, started_at, reason) VALUES (1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'начало');
