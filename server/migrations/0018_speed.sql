-- Issue 17: a student's journals are found from their class and groups (the diary's
-- _SPANS_SQL, grades, the printouts). Without these the query walked every journal of every
-- year: 0.8 ms with one year's 297 journals, 78–90 ms with 29,700; with them 0.06 ms at any
-- size (bench/plans.py lists what still reads a growing table whole).
CREATE INDEX journal_class ON journal(class_id) WHERE class_id IS NOT NULL;
CREATE INDEX journal_group ON journal(group_id) WHERE group_id IS NOT NULL;
