-- The family's side (§4.1.5, §4.1.6): a request to correct a child's personal data is a
-- message thread of its own purpose, which its recipient (the class teacher) marks done.
-- Messages are not school data: these stay outside the ledger, as messages do.
ALTER TABLE message_thread ADD COLUMN purpose TEXT CHECK (purpose IS NULL OR purpose IN ('data_correction'));
ALTER TABLE message_thread ADD COLUMN done_at TEXT;
ALTER TABLE message_thread ADD COLUMN done_by INTEGER REFERENCES person(id);
CREATE INDEX message_thread_open_requests ON message_thread(purpose) WHERE purpose IS NOT NULL AND done_at IS NULL;
