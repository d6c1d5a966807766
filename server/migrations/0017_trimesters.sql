-- Trimesters (issue 16): a class may study by trimesters (1-й, 2-й, 3-й триместр) besides quarters
-- and half-years. SQLite cannot alter a CHECK constraint, and rebuilding `class` and
-- `study_period` would mean dropping tables that half the schema references; widening a CHECK
-- changes nothing stored, which is the case SQLite's documentation allows to do by editing the
-- schema text (https://sqlite.org/lang_altertable.html, "writable_schema"). The migration runner
-- bumps `PRAGMA schema_version` after a migration that does this (server/db.py), so every
-- connection reads the new text. The replaced texts are checked: if either is not found, the
-- count check below fails the migration and nothing is changed.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, 'CHECK (kind IN (''quarter'', ''half'', ''year''))',
                          'CHECK (kind IN (''quarter'', ''half'', ''trimester'', ''year''))')
 WHERE type = 'table' AND name = 'study_period';
UPDATE sqlite_master
   SET sql = replace(sql, 'CHECK (period_kind IN (''quarter'', ''half''))',
                          'CHECK (period_kind IN (''quarter'', ''half'', ''trimester''))')
 WHERE type = 'table' AND name = 'class';
PRAGMA writable_schema = OFF;
CREATE TEMP TABLE migration_0017_check (ok INTEGER CHECK (ok = 2));
INSERT INTO migration_0017_check
SELECT count(*) FROM sqlite_master
 WHERE type = 'table' AND ((name = 'study_period' AND sql LIKE '%''trimester''%')
                        OR (name = 'class' AND sql LIKE '%''trimester''%'));
DROP TABLE migration_0017_check;
