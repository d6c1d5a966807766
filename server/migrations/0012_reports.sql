-- Reports and journal control (issue 13, §3.4.4).

-- «Посещаемость отмечена»: the teacher took the register of this lesson, even when everyone
-- was there (a lesson with no attendance mark says nothing otherwise). Its own audited table:
-- who took it and when is the ledger's entry `register_taken:<lesson>`.
CREATE TABLE register_taken (
    lesson_id INTEGER PRIMARY KEY REFERENCES lesson(id)
);

-- The deputy's remark (замечание) on a journal after a check, with the date by which it is to
-- be put right; shown to the journal's teacher until the deputy marks it done (done_on).
CREATE TABLE journal_remark (
    id         INTEGER PRIMARY KEY,
    journal_id INTEGER NOT NULL REFERENCES journal(id),
    period_id  INTEGER REFERENCES study_period(id),   -- the period whose check found it
    text       TEXT NOT NULL,
    due_on     TEXT NOT NULL,
    author_id  INTEGER REFERENCES person(id),
    created_on TEXT NOT NULL,
    done_on    TEXT
);
CREATE INDEX journal_remark_journal ON journal_remark(journal_id);

-- Journal control reads when each lesson, grade and register was first entered: the first
-- ledger entry of its key. With the entry's time in the key's index that is one index seek,
-- never a visit to the entry itself (~85 000 grades a quarter in a large school). The same
-- index as before for everything else (its prefix is the key); one index, as before, on a write.
DROP INDEX audit_key;
CREATE INDEX audit_key ON audit_log(key, at);
