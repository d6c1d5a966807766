-- One ledger (issue 10): the audit log carries the feed epoch of each entry itself, and
-- the change feed — a second copy of the same changes — goes. District sync reads the
-- ledger: entries after the district's mark, with their epoch.
ALTER TABLE audit_log ADD COLUMN epoch_id INTEGER REFERENCES feed_epoch(id);
-- record() wrote one change-feed row with each entry, in the same transaction and order.
UPDATE audit_log SET epoch_id = (SELECT f.epoch_id FROM change_feed f WHERE f.id = audit_log.id);
UPDATE audit_log SET epoch_id = (SELECT min(id) FROM feed_epoch) WHERE epoch_id IS NULL;
DROP TABLE change_feed;

-- Which audited tables the ledger covers: a table joins with one «исходное состояние»
-- entry per existing row (server/ledger.py, extend_coverage), then every change of it is
-- an entry. The journal's tables were covered from the start.
CREATE TABLE ledger_coverage (
    entity TEXT PRIMARY KEY,
    since  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO ledger_coverage(entity, since)
    SELECT entity, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
      FROM (SELECT 'lesson' AS entity UNION ALL SELECT 'grade' UNION ALL SELECT 'attendance'
            UNION ALL SELECT 'homework' UNION ALL SELECT 'period_grade' UNION ALL SELECT 'period');
