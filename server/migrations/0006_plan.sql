-- Who changed a journal's КТП when (§3.2.1). The plan is not journal data in the audit
-- sense (lessons and grades are: they go through the hash-chained audit_log), but a
-- teacher and the deputy must see who added, edited, deleted, imported or copied it.
-- One row per action, not per item: an import of 34 topics is one entry.
CREATE TABLE plan_log (
    id         INTEGER PRIMARY KEY,
    journal_id INTEGER NOT NULL REFERENCES journal(id),
    account_id INTEGER REFERENCES account(id),
    at         TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('add', 'edit', 'delete', 'import', 'copy', 'api')),
    detail     TEXT NOT NULL DEFAULT ''   -- e.g. «тема № 5», «файл ktp.xlsx: добавлено 34»
);
CREATE INDEX plan_log_journal ON plan_log(journal_id, id);

-- "Which lessons gave this topic" is asked per plan item on the plan page and in the
-- lesson panel, and by the foreign key check when an item is deleted: without an index
-- each of those scans every lesson of the school.
CREATE INDEX lesson_plan_item ON lesson(plan_item_id) WHERE plan_item_id IS NOT NULL;
