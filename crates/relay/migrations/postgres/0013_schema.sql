-- Ward's relay schema on PostgreSQL: the tables, columns, keys and indexes
-- that SQLite's migrations 0001 to 0013 build, in one step (no PostgreSQL
-- relay predates this). Times are milliseconds since 1970 (BIGINT), as on
-- SQLite; flags are integers; bytes are BYTEA. From here on, each change is
-- one migration with the same number in migrations/sqlite and here, and the
-- relay test `db_schema` checks the two schemas stay the same.

CREATE TABLE relay_info (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO relay_info (key, value)
VALUES ('created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

CREATE TABLE relay_secret (
    id        BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    key_check BYTEA NOT NULL,
    bound_at  BIGINT NOT NULL
);

CREATE TABLE accounts (
    account_id       TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('patient', 'clinic', 'caregiver')),
    display_name     TEXT NOT NULL,
    contact          TEXT,
    created_at       BIGINT NOT NULL,
    webauthn_user_id BYTEA
);

CREATE TABLE setup_codes (
    code_hash BYTEA PRIMARY KEY NOT NULL,
    used_at   BIGINT
);

CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT,
    revoked_at   BIGINT
);
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE invites (
    code_hash    BYTEA PRIMARY KEY NOT NULL,
    created_by   TEXT NOT NULL REFERENCES accounts (account_id),
    display_name TEXT NOT NULL,
    contact      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    account_id   TEXT REFERENCES accounts (account_id),
    kind         TEXT NOT NULL DEFAULT 'patient' CHECK (kind IN ('patient', 'caregiver')),
    for_patient  TEXT REFERENCES accounts (account_id)
);
CREATE INDEX invites_by_patient ON invites (for_patient, created_at) WHERE for_patient IS NOT NULL;

CREATE TABLE enrollments (
    enrollment_id TEXT PRIMARY KEY NOT NULL,
    invite_hash   BYTEA NOT NULL REFERENCES invites (code_hash),
    code_hash     BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    attempts      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_by_expiry ON enrollments (expires_at);

CREATE TABLE key_challenges (
    challenge_id TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    challenge    BYTEA NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX key_challenges_by_expiry ON key_challenges (expires_at);

CREATE TABLE bundles (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    bundle       BYTEA NOT NULL,
    published_at BIGINT NOT NULL
);

CREATE TABLE vaults (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    version    BIGINT NOT NULL,
    vault      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE threads (
    thread_id       TEXT PRIMARY KEY NOT NULL,
    category        TEXT NOT NULL,
    created_by      TEXT NOT NULL REFERENCES accounts (account_id),
    created_at      BIGINT NOT NULL,
    current_epoch   BIGINT,
    last_message_at BIGINT,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    activity        BIGINT NOT NULL DEFAULT 0,
    base_activity   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX threads_by_activity ON threads (activity);
CREATE INDEX threads_by_creator ON threads (created_by, created_at);

CREATE TABLE thread_members (
    thread_id          TEXT NOT NULL REFERENCES threads (thread_id),
    account_id         TEXT NOT NULL REFERENCES accounts (account_id),
    role               TEXT NOT NULL CHECK (role IN ('patient', 'clinic', 'caregiver')),
    added_at           BIGINT NOT NULL,
    removed_at         BIGINT,
    last_read_seq      BIGINT NOT NULL DEFAULT 0,
    last_delivered_seq BIGINT NOT NULL DEFAULT 0,
    last_read_at       BIGINT,
    activity           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, account_id)
);
CREATE INDEX thread_members_by_account ON thread_members (account_id);
CREATE INDEX thread_members_inbox ON thread_members (account_id, activity, thread_id)
    WHERE removed_at IS NULL;

CREATE TABLE sealed_keys (
    thread_id  TEXT NOT NULL REFERENCES threads (thread_id),
    epoch      BIGINT NOT NULL,
    member_id  TEXT NOT NULL REFERENCES accounts (account_id),
    sealer_id  TEXT NOT NULL REFERENCES accounts (account_id),
    sealed     BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, epoch, member_id)
);

CREATE TABLE envelopes (
    thread_id   TEXT NOT NULL REFERENCES threads (thread_id),
    seq         BIGINT NOT NULL,
    message_id  TEXT NOT NULL,
    sender_id   TEXT NOT NULL REFERENCES accounts (account_id),
    epoch       BIGINT NOT NULL,
    envelope    BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    activity    BIGINT,
    PRIMARY KEY (thread_id, seq),
    UNIQUE (thread_id, sender_id, message_id)
);

CREATE TABLE passkeys (
    passkey_id    TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    credential_id BYTEA NOT NULL UNIQUE,
    passkey       TEXT NOT NULL, -- webauthn-rs Passkey (public key, counter), JSON
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_by_account ON passkeys (account_id);

CREATE TABLE ceremonies (
    ceremony_id TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'authenticate', 'discover')),
    account_id  TEXT REFERENCES accounts (account_id),
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);

CREATE TABLE totp (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    secret       BYTEA NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE code_logins (
    login_id   TEXT PRIMARY KEY NOT NULL,
    account_id TEXT REFERENCES accounts (account_id),
    code_hash  BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    attempts   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX code_logins_by_expiry ON code_logins (expires_at);

CREATE TABLE caregiver_links (
    patient_id   TEXT NOT NULL REFERENCES accounts (account_id),
    caregiver_id TEXT NOT NULL REFERENCES accounts (account_id),
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    PRIMARY KEY (patient_id, caregiver_id)
);
CREATE INDEX caregiver_links_by_caregiver ON caregiver_links (caregiver_id);

CREATE TABLE guess_counts (
    key        TEXT PRIMARY KEY NOT NULL,
    count      BIGINT NOT NULL,
    window_end BIGINT NOT NULL
);
CREATE INDEX guess_counts_by_window_end ON guess_counts (window_end);

CREATE TABLE blobs (
    blob_id      TEXT PRIMARY KEY NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES accounts (account_id),
    size         BIGINT NOT NULL CHECK (size > 0),
    part_count   BIGINT NOT NULL CHECK (part_count > 0),
    created_at   BIGINT NOT NULL,
    finalized_at BIGINT,
    expires_at   BIGINT
);
CREATE INDEX blobs_by_owner ON blobs (owner_id);
CREATE INDEX blobs_by_expiry ON blobs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE blob_parts (
    blob_id    TEXT NOT NULL REFERENCES blobs (blob_id),
    part_index BIGINT NOT NULL,
    size       BIGINT NOT NULL CHECK (size > 0),
    object     TEXT NOT NULL,
    stored_at  BIGINT NOT NULL,
    PRIMARY KEY (blob_id, part_index)
);

CREATE TABLE message_attachments (
    thread_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    position  BIGINT NOT NULL,
    blob_id   TEXT NOT NULL REFERENCES blobs (blob_id),
    PRIMARY KEY (thread_id, seq, position),
    UNIQUE (thread_id, seq, blob_id),
    FOREIGN KEY (thread_id, seq) REFERENCES envelopes (thread_id, seq)
);
CREATE INDEX message_attachments_by_blob ON message_attachments (blob_id);

CREATE TABLE bundle_history (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    seq          BIGINT NOT NULL CHECK (seq >= 0),
    bundle       BYTEA NOT NULL,
    hash         BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    published_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);

CREATE TABLE account_events (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    seq        BIGINT NOT NULL CHECK (seq >= 0),
    kind       TEXT NOT NULL CHECK (kind IN (
                   'bundle_published', 'bundle_changed', 'vault_changed',
                   'passkey_added', 'passkey_removed', 'totp_enabled',
                   'totp_disabled', 'signed_in', 'session_revoked',
                   'caregiver_invited', 'thread_shared')),
    at         BIGINT NOT NULL,
    session_id TEXT,
    detail     TEXT,
    hash       BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (account_id, seq)
);

-- The two histories are append-only, as on SQLite.
CREATE FUNCTION ward_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER bundle_history_no_update BEFORE UPDATE ON bundle_history
    FOR EACH ROW EXECUTE FUNCTION ward_append_only();
CREATE TRIGGER bundle_history_no_delete BEFORE DELETE ON bundle_history
    FOR EACH ROW EXECUTE FUNCTION ward_append_only();
CREATE TRIGGER account_events_no_update BEFORE UPDATE ON account_events
    FOR EACH ROW EXECUTE FUNCTION ward_append_only();
CREATE TRIGGER account_events_no_delete BEFORE DELETE ON account_events
    FOR EACH ROW EXECUTE FUNCTION ward_append_only();
