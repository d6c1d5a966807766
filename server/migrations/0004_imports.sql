-- The record of imports of class lists and staff (§3.5.1): who imported which file when,
-- how many rows it had and what came of it. Shown on the import page as a short history.
CREATE TABLE import_log (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('students', 'staff')),
    file_name       TEXT NOT NULL,               -- the uploaded file's own name, no folders
    row_count       INTEGER NOT NULL,            -- non-empty rows under the header
    created         INTEGER NOT NULL,            -- new students, or new staff
    skipped         INTEGER NOT NULL,            -- already in the school
    parents_created INTEGER NOT NULL DEFAULT 0,
    links_created   INTEGER NOT NULL DEFAULT 0,  -- parent–child links made
    class_ids       TEXT NOT NULL DEFAULT '',    -- classes the file named, comma-separated ids
    account_id      INTEGER REFERENCES account(id),
    imported_at     TEXT NOT NULL
);
