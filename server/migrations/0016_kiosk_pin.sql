-- The first login without a device at home (issue 16): a family whose only access is the hall
-- kiosk logs in there with a PIN from a slip the class teacher prints. The PIN opens only
-- kiosk sessions (read-only, ended after a minute and a half without a touch), so it never
-- needs changing and nothing is chosen or typed in the hall but what the slip says. Like a
-- password, only its Argon2 hash is kept, outside the ledger; issuing it is a credential_issue.
ALTER TABLE account ADD COLUMN kiosk_pin_hash TEXT;
