-- Minors and guardians (issue 15): a patient's birth date as the clinic
-- recorded it, how an invited caregiver is related to the patient, a teen's
-- assent to a guardian the clinic appointed, and that assent's access-log
-- kind.
ALTER TABLE accounts ADD COLUMN birth_date TEXT
    CHECK (birth_date IS NULL OR length(birth_date) = 10);
ALTER TABLE invites ADD COLUMN relationship TEXT
    CHECK (relationship IS NULL OR relationship IN ('parent', 'child', 'spouse', 'other'));
ALTER TABLE caregiver_links ADD COLUMN assented_at BIGINT;

ALTER TABLE account_events DROP CONSTRAINT account_events_kind_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_kind_check CHECK (kind IN (
    'bundle_published', 'bundle_changed', 'vault_changed',
    'passkey_added', 'passkey_removed', 'totp_enabled',
    'totp_disabled', 'signed_in', 'session_revoked',
    'caregiver_invited', 'thread_shared', 'thread_unshared',
    'caregiver_changed', 'caregiver_removed', 'caregiver_left',
    'caregiver_expired', 'sign_in_failed', 'signed_out',
    'caregiver_accepted', 'caregiver_read', 'caregiver_sent',
    'attachment_downloaded', 'consent_given', 'consent_withdrawn',
    'caregiver_assented'));

-- PostgreSQL stamps inbox activity with transaction ids plus this offset
-- (store::threads); a database restored into a new cluster, whose ids
-- start lower, has it raised at the relay's start (db::open). Unused on
-- SQLite, which counts.
CREATE TABLE activity_base (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    xid_offset BIGINT NOT NULL
);
INSERT INTO activity_base (id, xid_offset) VALUES (1, 0);
