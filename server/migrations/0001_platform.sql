-- The platform: school, people, accounts and roles, sessions, the login record,
-- and the minimal school structure the demo and access checks need
-- (academic year, classes, students, enrolments, guardians).
-- Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SSZ'; dates are 'YYYY-MM-DD'.

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE school (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    uid           TEXT NOT NULL,            -- stable id for backups and district sync
    name          TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    district_code TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);

CREATE TABLE person (
    id          INTEGER PRIMARY KEY,
    last_name   TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    middle_name TEXT NOT NULL DEFAULT '',
    sex         TEXT CHECK (sex IN ('м', 'ж')),
    birth_date  TEXT,
    phone       TEXT,
    email       TEXT,
    position    TEXT,                        -- должность, for staff
    created_at  TEXT NOT NULL,
    archived_at TEXT
);

CREATE TABLE account (
    id                   INTEGER PRIMARY KEY,
    person_id            INTEGER NOT NULL UNIQUE REFERENCES person(id),
    login                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled_at          TEXT,
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT
);

-- Stored roles. "class_teacher" is not stored: it follows from class.class_teacher_id.
CREATE TABLE account_role (
    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN
                 ('director', 'deputy', 'sysadmin', 'teacher', 'staff', 'parent', 'student')),
    granted_at TEXT NOT NULL,
    PRIMARY KEY (account_id, role)
) WITHOUT ROWID;

-- Server-side sessions: the cookie holds a random token, the table only its sha256.
CREATE TABLE session (
    token_hash   TEXT PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    kiosk        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX session_account ON session(account_id);
CREATE INDEX session_last_seen ON session(last_seen_at);

-- Every login, failure and logout. The login as typed is kept only as a keyed hash
-- (login_key): someone who types a password into the login field must not find it here.
CREATE TABLE login_event (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    login_key  TEXT NOT NULL,
    account_id INTEGER REFERENCES account(id) ON DELETE SET NULL,
    ip         TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN
                 ('ok', 'bad_password', 'unknown_login', 'disabled', 'no_consent',
                  'throttled', 'logout', 'password_changed'))
);
CREATE INDEX login_event_key_at ON login_event(login_key, at);
CREATE INDEX login_event_ip_at ON login_event(ip, at);
CREATE INDEX login_event_at ON login_event(at);

CREATE TABLE academic_year (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,          -- '2026/2027'
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL,
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('planned', 'open', 'closed')),
    CHECK (starts_on < ends_on)
);

CREATE TABLE class (
    id               INTEGER PRIMARY KEY,
    year_id          INTEGER NOT NULL REFERENCES academic_year(id),
    parallel         INTEGER NOT NULL CHECK (parallel BETWEEN 1 AND 11),
    letter           TEXT NOT NULL,
    class_teacher_id INTEGER REFERENCES person(id),
    archived_at      TEXT,
    UNIQUE (year_id, parallel, letter)
);
CREATE INDEX class_teacher ON class(class_teacher_id);

CREATE TABLE student (
    person_id  INTEGER PRIMARY KEY REFERENCES person(id),
    study_form TEXT NOT NULL DEFAULT 'очная'
               CHECK (study_form IN ('очная', 'семейная', 'на дому', 'индивидуальный план'))
);

-- A student's membership of a class; to_date is the last day (NULL: still there).
-- Moving a student closes one row and opens another, so history stays.
CREATE TABLE enrollment (
    id         INTEGER PRIMARY KEY,
    student_id INTEGER NOT NULL REFERENCES student(person_id),
    class_id   INTEGER NOT NULL REFERENCES class(id),
    from_date  TEXT NOT NULL,
    to_date    TEXT,
    CHECK (to_date IS NULL OR to_date >= from_date)
);
CREATE INDEX enrollment_class ON enrollment(class_id);
CREATE INDEX enrollment_student ON enrollment(student_id);

-- Parent or legal guardian of a student; consent and diary form per child (§4.1.1).
CREATE TABLE guardian (
    parent_id   INTEGER NOT NULL REFERENCES person(id),
    student_id  INTEGER NOT NULL REFERENCES student(person_id),
    relation    TEXT NOT NULL DEFAULT 'родитель',
    consent_at  TEXT,
    diary_form  TEXT NOT NULL DEFAULT 'electronic' CHECK (diary_form IN ('electronic', 'paper')),
    PRIMARY KEY (parent_id, student_id)
) WITHOUT ROWID;
CREATE INDEX guardian_student ON guardian(student_id);

-- School-wide settings as key/value text. The login-key secret is made here, once.
CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO setting(key, value) VALUES ('login_key_secret', lower(hex(randomblob(32))));
