-- Key history and account history (issue 12, key authenticity).
--
-- bundle_history: every bundle each account ever published, hash-chained
-- (ward_seal::key_history::entry_hash over the previous hash, the seq and the
-- bundle). Append-only: the triggers below refuse UPDATE and DELETE, so the
-- relay's own code cannot rewrite what clients have pinned. `bundles` stays
-- the current bundle, kept in step in the same transaction. Bundles
-- published before this migration are copied in as seq 0 when the relay
-- opens the database (the hash needs SHA-256, which SQLite lacks).
CREATE TABLE bundle_history (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    seq          INTEGER NOT NULL CHECK (seq >= 0),
    bundle       BLOB NOT NULL,
    hash         BLOB NOT NULL CHECK (length(hash) = 32),
    published_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
) STRICT;

CREATE TRIGGER bundle_history_no_update BEFORE UPDATE ON bundle_history
BEGIN
    SELECT RAISE(ABORT, 'bundle_history is append-only');
END;

CREATE TRIGGER bundle_history_no_delete BEFORE DELETE ON bundle_history
BEGIN
    SELECT RAISE(ABORT, 'bundle_history is append-only');
END;

-- account_events: what changed how the account signs in, unlocks its keys or
-- is encrypted to, and every sign-in and remote sign-out. Hash-chained like
-- the key history (SHA-256 over the previous hash and the event's fields,
-- computed by the relay), append-only.
CREATE TABLE account_events (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    kind       TEXT NOT NULL CHECK (kind IN (
                   'bundle_published', 'bundle_changed', 'vault_changed',
                   'passkey_added', 'passkey_removed', 'totp_enabled',
                   'totp_disabled', 'signed_in', 'session_revoked',
                   'caregiver_invited', 'thread_shared')),
    at         INTEGER NOT NULL,
    session_id TEXT,
    detail     TEXT,
    hash       BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (account_id, seq)
) STRICT;

CREATE TRIGGER account_events_no_update BEFORE UPDATE ON account_events
BEGIN
    SELECT RAISE(ABORT, 'account_events is append-only');
END;

CREATE TRIGGER account_events_no_delete BEFORE DELETE ON account_events
BEGIN
    SELECT RAISE(ABORT, 'account_events is append-only');
END;
