-- On what document a parent's consent was recorded (§4.1.1): its number and date as the
-- class teacher typed them («заявление № 12 от 01.09.2026»). Who recorded it and when is the
-- ledger's entry for the guardian row.
ALTER TABLE guardian ADD COLUMN consent_document TEXT;
