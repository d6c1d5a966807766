-- The class journal (§3.2): work types and their weights, the КТП, lessons, homework,
-- attendance, grades, period grades; the audit log and the change feed that every
-- journal change appends to in the same transaction.

-- Work types (виды работ) with their weights: a school setting (§3.2.3).
CREATE TABLE work_type (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    weight     REAL NOT NULL CHECK (weight > 0 AND weight <= 10),
    is_control INTEGER NOT NULL DEFAULT 0,   -- оценочная процедура: every present student gets a grade (§3.2.4)
    sort       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO work_type(code, name, weight, is_control, sort) VALUES
    ('lesson', 'урок', 1, 0, 1),
    ('independent', 'самостоятельная работа', 1.5, 0, 2),
    ('control', 'контрольная работа', 2, 1, 3),
    ('practical', 'практическая работа', 1.5, 1, 4),
    ('laboratory', 'лабораторная работа', 1.5, 1, 5),
    ('dictation', 'диктант', 2, 1, 6),
    ('essay', 'сочинение', 2, 1, 7),
    ('test', 'тест', 1.5, 0, 8),
    ('credit', 'зачёт', 2, 1, 9),
    ('homework', 'домашняя работа', 1, 0, 10);

INSERT INTO setting(key, value) VALUES
    ('grade_one_allowed', '0'),        -- the grade 1 is rare; a school turns it on
    ('first_grade_marks', '0'),        -- parallel 1: безотметочное обучение
    ('forecast_threshold', '0.5');     -- 3.5 → 4 when the threshold is 0.5

-- КТП: the calendar-thematic plan of a journal (§1.4.2, §3.2.1).
CREATE TABLE plan_item (
    id           INTEGER PRIMARY KEY,
    journal_id   INTEGER NOT NULL REFERENCES journal(id),
    number       INTEGER NOT NULL CHECK (number > 0),
    topic        TEXT NOT NULL,
    hours        REAL NOT NULL DEFAULT 1 CHECK (hours > 0),
    planned_date TEXT,
    planned_week INTEGER,
    work_type    TEXT NOT NULL DEFAULT 'lesson' REFERENCES work_type(code),
    UNIQUE (journal_id, number)
);

-- A lesson of a journal on a date (§3.2.2). Columns of the grid come from the timetable;
-- a row here exists once something was recorded for that lesson.
CREATE TABLE lesson (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL REFERENCES journal(id),
    date          TEXT NOT NULL,
    lesson_number INTEGER NOT NULL CHECK (lesson_number BETWEEN 0 AND 12),
    topic         TEXT NOT NULL DEFAULT '',
    work_type     TEXT NOT NULL DEFAULT 'lesson' REFERENCES work_type(code),
    plan_item_id  INTEGER REFERENCES plan_item(id),
    status        TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'substituted', 'cancelled')),
    substitute_id INTEGER REFERENCES person(id),
    status_reason TEXT NOT NULL DEFAULT '',
    UNIQUE (journal_id, date, lesson_number)
);
CREATE INDEX lesson_date ON lesson(date);
CREATE INDEX lesson_substitute ON lesson(substitute_id) WHERE substitute_id IS NOT NULL;

CREATE TABLE homework (
    lesson_id  INTEGER PRIMARY KEY REFERENCES lesson(id),
    text       TEXT NOT NULL DEFAULT '',
    minutes    INTEGER CHECK (minutes IS NULL OR minutes BETWEEN 1 AND 600),
    file_name  TEXT,            -- as uploaded, shown to people
    file_path  TEXT,            -- under DATA/files/, never taken from the client
    file_size  INTEGER
);

CREATE TABLE attendance (
    lesson_id  INTEGER NOT NULL REFERENCES lesson(id),
    student_id INTEGER NOT NULL REFERENCES student(person_id),
    mark       TEXT NOT NULL CHECK (mark IN ('Н', 'Б', 'У', 'ОП')),
    PRIMARY KEY (lesson_id, student_id)
) WITHOUT ROWID;
CREATE INDEX attendance_student ON attendance(student_id);

-- Current grades; a cell may hold several ("5/4"): position 0, 1, 2.
CREATE TABLE grade (
    lesson_id  INTEGER NOT NULL REFERENCES lesson(id),
    student_id INTEGER NOT NULL REFERENCES student(person_id),
    position   INTEGER NOT NULL CHECK (position BETWEEN 0 AND 2),
    value      TEXT NOT NULL CHECK (value IN ('5', '4', '3', '2', '1', 'зч', 'нз')),
    work_type  TEXT NOT NULL REFERENCES work_type(code),
    PRIMARY KEY (lesson_id, student_id, position)
) WITHOUT ROWID;
CREATE INDEX grade_student ON grade(student_id);

-- Period grades (§3.2.7).
CREATE TABLE period_grade (
    journal_id INTEGER NOT NULL REFERENCES journal(id),
    period_id  INTEGER NOT NULL REFERENCES study_period(id),
    student_id INTEGER NOT NULL REFERENCES student(person_id),
    value      TEXT NOT NULL CHECK (value IN ('5', '4', '3', '2', 'зч', 'нз', 'н/а', 'осв')),
    PRIMARY KEY (journal_id, period_id, student_id)
) WITHOUT ROWID;
CREATE INDEX period_grade_student ON period_grade(student_id);

ALTER TABLE study_period ADD COLUMN closed_by INTEGER REFERENCES account(id);

-- The audit log: every journal change, who/when/what/old/new, each entry's hash chained
-- to the previous one (`zhurnal audit verify`).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    account_id INTEGER,
    entity     TEXT NOT NULL,        -- 'lesson', 'grade', 'attendance', 'homework', 'period_grade', 'period'
    key        TEXT NOT NULL,        -- e.g. 'grade:12:345:0'
    old        TEXT,                 -- JSON or NULL
    new        TEXT,                 -- JSON or NULL (deleted)
    reason     TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL
);
CREATE INDEX audit_key ON audit_log(key);

-- The change feed for district sync: the same changes, in order, tagged with the epoch.
CREATE TABLE change_feed (
    id       INTEGER PRIMARY KEY,
    epoch_id INTEGER NOT NULL REFERENCES feed_epoch(id),
    at       TEXT NOT NULL,
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    data     TEXT                    -- JSON of the new state, NULL when deleted
);
