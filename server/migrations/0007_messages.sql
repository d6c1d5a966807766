-- Messages (§1.4.8, §3.3.3, §3.3.4): threads, their members, messages, who receives each
-- message and when they read it (read receipts, unread counts), attachments.
-- Messages are not journal data: no audit chain and no change feed.

-- A conversation. `kind` says to whom it was started; the audience is fixed when sent
-- (the members below), so a later class list change does not show old messages to newcomers.
CREATE TABLE message_thread (
    id              INTEGER PRIMARY KEY,
    subject         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('person', 'class_parents', 'class_students', 'staff',
                                                  'school_parents', 'school_students', 'family')),
    class_id        INTEGER REFERENCES class(id),
    student_id      INTEGER REFERENCES student(person_id),   -- 'family': the child it is about
    author_id       INTEGER NOT NULL REFERENCES person(id),
    audience        TEXT NOT NULL DEFAULT '',                -- as shown: «Родителям 5А»
    created_at      TEXT NOT NULL,
    pinned_at       TEXT,                                    -- an announcement on members' home pages
    pinned_by       INTEGER REFERENCES person(id)
);
CREATE INDEX message_thread_pinned ON message_thread(pinned_at) WHERE pinned_at IS NOT NULL;
CREATE INDEX message_thread_family ON message_thread(class_id, kind);

CREATE TABLE thread_member (
    thread_id INTEGER NOT NULL REFERENCES message_thread(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES person(id),
    PRIMARY KEY (thread_id, person_id)
) WITHOUT ROWID;
CREATE INDEX thread_member_person ON thread_member(person_id, thread_id);

-- private_to: a reply inside a group thread that only its author and this person see
-- (a parent answering a message to the whole class writes to the teacher, not to all parents).
CREATE TABLE message (
    id         INTEGER PRIMARY KEY,
    thread_id  INTEGER NOT NULL REFERENCES message_thread(id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL REFERENCES person(id),
    private_to INTEGER REFERENCES person(id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX message_thread_order ON message(thread_id, id);

-- One row per message and person it was sent to: who may see it, and when they read it.
CREATE TABLE message_recipient (
    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES person(id),
    read_at    TEXT,
    PRIMARY KEY (message_id, person_id)
) WITHOUT ROWID;
CREATE INDEX message_recipient_person ON message_recipient(person_id, message_id);
-- The unread count in every page's menu reads only this small index.
CREATE INDEX message_unread ON message_recipient(person_id) WHERE read_at IS NULL;

CREATE TABLE message_attachment (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    file_name  TEXT NOT NULL,     -- as uploaded, shown to people
    file_path  TEXT NOT NULL,     -- under DATA/messages/, a random name, never taken from the client
    file_size  INTEGER NOT NULL
);
CREATE INDEX message_attachment_message ON message_attachment(message_id);
