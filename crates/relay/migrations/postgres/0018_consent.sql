-- The messaging consent (issue 15): the texts the clinic served, each
-- account's current agreement, and its two access-log kinds.
CREATE TABLE consent_texts (
    sha256     BYTEA NOT NULL CHECK (length(sha256) = 32),
    version    TEXT NOT NULL,
    text       TEXT NOT NULL,
    first_served_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, version)
);

CREATE TABLE account_consent (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    sha256       BYTEA NOT NULL,
    version      TEXT NOT NULL,
    agreed_at    BIGINT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('enrollment', 'signed_in')),
    withdrawn_at BIGINT,
    FOREIGN KEY (sha256, version) REFERENCES consent_texts (sha256, version)
);

ALTER TABLE account_events DROP CONSTRAINT account_events_kind_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_kind_check CHECK (kind IN (
    'bundle_published', 'bundle_changed', 'vault_changed',
    'passkey_added', 'passkey_removed', 'totp_enabled',
    'totp_disabled', 'signed_in', 'session_revoked',
    'caregiver_invited', 'thread_shared', 'thread_unshared',
    'caregiver_changed', 'caregiver_removed', 'caregiver_left',
    'caregiver_expired', 'sign_in_failed', 'signed_out',
    'caregiver_accepted', 'caregiver_read', 'caregiver_sent',
    'attachment_downloaded', 'consent_given', 'consent_withdrawn'));
