-- The timetable of a date (§3.4.4 g): the weekly timetable plus the changes the deputy plans.
-- A substitution or a cancellation of one lesson is that lesson's own row (lesson.status,
-- lesson.substitute_id), written ahead of the day; what the weekly timetable cannot say is
-- here: a lesson moved to another day or lesson number, and an extra lesson.

-- A lesson of a journal on (date, lesson_number) that the weekly timetable does not have:
-- moved there from (from_date, from_number), which then has no lesson, or extra (from_date
-- NULL) with its reason.
CREATE TABLE timetable_change (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL REFERENCES journal(id),
    date          TEXT NOT NULL,
    lesson_number INTEGER NOT NULL CHECK (lesson_number BETWEEN 0 AND 12),
    from_date     TEXT,
    from_number   INTEGER CHECK (from_number IS NULL OR from_number BETWEEN 0 AND 12),
    room          TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    UNIQUE (journal_id, date, lesson_number),
    CHECK ((from_date IS NULL) = (from_number IS NULL))
);
CREATE UNIQUE INDEX timetable_change_from ON timetable_change(journal_id, from_date, from_number)
    WHERE from_date IS NOT NULL;
CREATE INDEX timetable_change_date ON timetable_change(date);
CREATE INDEX timetable_change_from_date ON timetable_change(from_date) WHERE from_date IS NOT NULL;

-- A staff member away (ill, on a course) from — to: the deputy gives each of their lessons
-- a substitute; nobody away is offered as one.
CREATE TABLE staff_absence (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person(id),
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX staff_absence_person ON staff_absence(person_id, starts_on);
