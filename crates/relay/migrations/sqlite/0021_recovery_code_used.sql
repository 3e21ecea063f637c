-- The access-log kind for an account opened with its recovery code (issue
-- 15), reported by the patient's app (the relay never sees the code).
-- SQLite cannot widen a CHECK in place, so the append-only table is rebuilt
-- with its rows and triggers as they were.
DROP TRIGGER account_events_no_update;
DROP TRIGGER account_events_no_delete;

CREATE TABLE account_events_widened (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    kind       TEXT NOT NULL CHECK (kind IN (
                   'bundle_published', 'bundle_changed', 'vault_changed',
                   'passkey_added', 'passkey_removed', 'totp_enabled',
                   'totp_disabled', 'signed_in', 'session_revoked',
                   'caregiver_invited', 'thread_shared', 'thread_unshared',
                   'caregiver_changed', 'caregiver_removed', 'caregiver_left',
                   'caregiver_expired', 'sign_in_failed', 'signed_out',
                   'caregiver_accepted', 'caregiver_read', 'caregiver_sent',
                   'attachment_downloaded', 'consent_given',
                   'consent_withdrawn', 'caregiver_assented',
                   'recovery_code_used')),
    at         INTEGER NOT NULL,
    session_id TEXT,
    detail     TEXT,
    hash       BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (account_id, seq)
) STRICT;

INSERT INTO account_events_widened (account_id, seq, kind, at, session_id, detail, hash)
    SELECT account_id, seq, kind, at, session_id, detail, hash FROM account_events;
DROP TABLE account_events;
ALTER TABLE account_events_widened RENAME TO account_events;

CREATE TRIGGER account_events_no_update BEFORE UPDATE ON account_events
BEGIN
    SELECT RAISE(ABORT, 'account_events is append-only');
END;

CREATE TRIGGER account_events_no_delete BEFORE DELETE ON account_events
BEGIN
    SELECT RAISE(ABORT, 'account_events is append-only');
END;
