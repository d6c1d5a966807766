-- The year lifecycle (issue 12, §3.4.8): closing a year, preparing the next one from it,
-- promotion by the director's order, graduates and leavers.
--
-- A year's status: 'planned' (being prepared), 'open' (the current year), 'closed' (an
-- earlier year, kept readable forever, §1.4.4). closed_at says its journals are read-only:
-- the current year is closed in June (status still 'open', the school still lives in it
-- until the next year opens); the deputy may reopen it with a reason.
ALTER TABLE academic_year ADD COLUMN closed_at TEXT;
ALTER TABLE academic_year ADD COLUMN closed_by INTEGER REFERENCES account(id);
-- A planned year becomes the current one on this day (1 September, or the deputy's date).
ALTER TABLE academic_year ADD COLUMN opens_on TEXT;

-- What the next year was made from: class → class (5А → 6А), group → group, load row →
-- load row. Promotion moves a student into their class's successor; a subgroup's members
-- follow into its successor.
CREATE TABLE year_link (
    kind    TEXT NOT NULL CHECK (kind IN ('class', 'group', 'journal')),
    from_id INTEGER NOT NULL,
    to_id   INTEGER NOT NULL,
    PRIMARY KEY (kind, from_id)
) WITHOUT ROWID;

-- The director's order of promotion (приказ о переводе) of a year's students.
CREATE TABLE promotion_order (
    year_id      INTEGER PRIMARY KEY REFERENCES academic_year(id),
    next_year_id INTEGER NOT NULL REFERENCES academic_year(id),
    number       TEXT NOT NULL DEFAULT '',
    signed_on    TEXT,
    access_until TEXT NOT NULL,      -- graduates and leavers log in until this day
    applied_at   TEXT
);

-- Per student, the decision: переведён, переведён условно (academic debt: subjects, a
-- deadline, then ликвидирована or not), оставлен на повторное обучение, выпущен (with the
-- attestat outcome), выбыл (with where to).
CREATE TABLE promotion (
    year_id       INTEGER NOT NULL REFERENCES academic_year(id),
    student_id    INTEGER NOT NULL REFERENCES student(person_id),
    class_id      INTEGER NOT NULL REFERENCES class(id),
    decision      TEXT NOT NULL CHECK (decision IN ('promoted', 'conditional', 'repeat', 'graduated', 'left')),
    next_class_id INTEGER REFERENCES class(id),
    debt          TEXT NOT NULL DEFAULT '',
    debt_until    TEXT,
    debt_status   TEXT CHECK (debt_status IN ('liquidated', 'not_liquidated')),
    attestat      TEXT NOT NULL DEFAULT '',
    left_to       TEXT NOT NULL DEFAULT '',
    confirmed_at  TEXT,
    applied_at    TEXT,
    PRIMARY KEY (year_id, student_id)
) WITHOUT ROWID;
CREATE INDEX promotion_class ON promotion(class_id);
