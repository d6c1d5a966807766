-- School structure: study periods and holidays, subjects, groups, the teaching load
-- (journals), bell times and the weekly timetable; per-class read access for staff;
-- the record of issued credentials; students leaving.

ALTER TABLE class ADD COLUMN period_kind TEXT NOT NULL DEFAULT 'quarter'
    CHECK (period_kind IN ('quarter', 'half'));

ALTER TABLE student ADD COLUMN left_on TEXT;
ALTER TABLE student ADD COLUMN left_reason TEXT;

-- Quarters, half-years and the year itself; which ones a class uses follows from
-- class.period_kind. Closing a period (closed_at) comes with the journal.
CREATE TABLE study_period (
    id        INTEGER PRIMARY KEY,
    year_id   INTEGER NOT NULL REFERENCES academic_year(id),
    kind      TEXT NOT NULL CHECK (kind IN ('quarter', 'half', 'year')),
    number    INTEGER NOT NULL CHECK (number BETWEEN 1 AND 4),
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (year_id, kind, number),
    CHECK (starts_on <= ends_on)
);

CREATE TABLE holiday (
    id        INTEGER PRIMARY KEY,
    year_id   INTEGER NOT NULL REFERENCES academic_year(id),
    name      TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL,
    CHECK (starts_on <= ends_on)
);

CREATE TABLE subject (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    short_name  TEXT NOT NULL DEFAULT '',
    archived_at TEXT
);

-- Subgroups of one class (languages), groups across classes (electives, ИГЗ) and
-- groups of one student (individual plan, home schooling, §3.2.5).
CREATE TABLE study_group (
    id          INTEGER PRIMARY KEY,
    year_id     INTEGER NOT NULL REFERENCES academic_year(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('subgroup', 'elective', 'igz', 'individual', 'home')),
    class_id    INTEGER REFERENCES class(id),        -- the class a subgroup divides
    archived_at TEXT,
    UNIQUE (year_id, name),
    CHECK (kind <> 'subgroup' OR class_id IS NOT NULL)
);

CREATE TABLE group_member (
    group_id   INTEGER NOT NULL REFERENCES study_group(id),
    student_id INTEGER NOT NULL REFERENCES student(person_id),
    from_date  TEXT NOT NULL,
    to_date    TEXT,
    PRIMARY KEY (group_id, student_id, from_date)
) WITHOUT ROWID;
CREATE INDEX group_member_student ON group_member(student_id);

-- The teaching load: a teacher teaches a subject to a class or a group, hours a week.
-- Each row is one journal (class or group × subject × year).
CREATE TABLE journal (
    id             INTEGER PRIMARY KEY,
    year_id        INTEGER NOT NULL REFERENCES academic_year(id),
    subject_id     INTEGER NOT NULL REFERENCES subject(id),
    class_id       INTEGER REFERENCES class(id),
    group_id       INTEGER REFERENCES study_group(id),
    teacher_id     INTEGER NOT NULL REFERENCES person(id),
    hours_per_week REAL NOT NULL CHECK (hours_per_week > 0 AND hours_per_week <= 40),
    archived_at    TEXT,
    CHECK ((class_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX journal_unique ON journal(year_id, subject_id, coalesce(class_id, 0), coalesce(group_id, 0))
    WHERE archived_at IS NULL;
CREATE INDEX journal_teacher ON journal(teacher_id);

CREATE TABLE bell (
    year_id   INTEGER NOT NULL REFERENCES academic_year(id),
    number    INTEGER NOT NULL CHECK (number BETWEEN 0 AND 12),
    starts_at TEXT NOT NULL,   -- 'HH:MM'
    ends_at   TEXT NOT NULL,
    PRIMARY KEY (year_id, number),
    CHECK (starts_at < ends_at)
) WITHOUT ROWID;

-- The weekly timetable: journal at weekday (1 = понедельник … 6 = суббота), lesson number.
CREATE TABLE timetable_slot (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL REFERENCES journal(id),
    weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 6),
    lesson_number INTEGER NOT NULL CHECK (lesson_number BETWEEN 0 AND 12),
    room          TEXT NOT NULL DEFAULT '',
    UNIQUE (journal_id, weekday, lesson_number)
);
CREATE INDEX timetable_when ON timetable_slot(weekday, lesson_number);

-- Read access the deputy grants to other staff (psychologist, social pedagogue) per class.
CREATE TABLE class_access (
    person_id  INTEGER NOT NULL REFERENCES person(id),
    class_id   INTEGER NOT NULL REFERENCES class(id),
    granted_at TEXT NOT NULL,
    granted_by INTEGER REFERENCES account(id),
    PRIMARY KEY (person_id, class_id)
) WITHOUT ROWID;

-- Who issued whose credentials when (§2.3). The password itself is never kept.
CREATE TABLE credential_issue (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id),
    issued_by  INTEGER REFERENCES account(id),
    issued_at  TEXT NOT NULL
);
CREATE INDEX credential_issue_account ON credential_issue(account_id);
