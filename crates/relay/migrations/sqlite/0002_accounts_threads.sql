-- Accounts, sessions, enrollment, keys, vaults, threads and envelopes.
-- Everything secret is stored hashed (tokens, codes) or is ciphertext the
-- relay cannot open (vaults, sealed keys, envelopes). Times are Unix
-- milliseconds.

CREATE TABLE accounts (
    account_id   TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('patient', 'clinic', 'caregiver')),
    display_name TEXT NOT NULL,
    contact      TEXT,
    created_at   INTEGER NOT NULL
) STRICT;

-- The relay's one-time clinic setup code (hash), consumed by the first setup.
CREATE TABLE setup_codes (
    code_hash BLOB PRIMARY KEY NOT NULL,
    used_at   INTEGER
) STRICT;

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE invites (
    code_hash    BLOB PRIMARY KEY NOT NULL,
    created_by   TEXT NOT NULL REFERENCES accounts (account_id),
    display_name TEXT NOT NULL,
    contact      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    account_id   TEXT REFERENCES accounts (account_id)
) STRICT;

CREATE TABLE enrollments (
    enrollment_id TEXT PRIMARY KEY NOT NULL,
    invite_hash   BLOB NOT NULL REFERENCES invites (code_hash),
    code_hash     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
) STRICT;

-- Failed attempts per key (an account, an enrollment, a source address).
CREATE TABLE attempts (
    key          TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
) STRICT;

CREATE TABLE key_challenges (
    challenge_id TEXT PRIMARY KEY NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    challenge    BLOB NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE bundles (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    bundle       BLOB NOT NULL,
    published_at INTEGER NOT NULL
) STRICT;

CREATE TABLE vaults (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    version    INTEGER NOT NULL,
    vault      BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE threads (
    thread_id       TEXT PRIMARY KEY NOT NULL,
    category        TEXT NOT NULL,
    created_by      TEXT NOT NULL REFERENCES accounts (account_id),
    created_at      INTEGER NOT NULL,
    current_epoch   INTEGER,
    last_message_at INTEGER,
    last_seq        INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE thread_members (
    thread_id     TEXT NOT NULL REFERENCES threads (thread_id),
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    role          TEXT NOT NULL CHECK (role IN ('patient', 'clinic', 'caregiver')),
    added_at      INTEGER NOT NULL,
    removed_at    INTEGER,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, account_id)
) STRICT;
CREATE INDEX thread_members_by_account ON thread_members (account_id);

CREATE TABLE sealed_keys (
    thread_id  TEXT NOT NULL REFERENCES threads (thread_id),
    epoch      INTEGER NOT NULL,
    member_id  TEXT NOT NULL REFERENCES accounts (account_id),
    sealer_id  TEXT NOT NULL REFERENCES accounts (account_id),
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (thread_id, epoch, member_id)
) STRICT;

CREATE TABLE envelopes (
    thread_id   TEXT NOT NULL REFERENCES threads (thread_id),
    seq         INTEGER NOT NULL,
    message_id  TEXT NOT NULL,
    sender_id   TEXT NOT NULL REFERENCES accounts (account_id),
    epoch       INTEGER NOT NULL,
    envelope    BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (thread_id, seq),
    UNIQUE (thread_id, sender_id, message_id)
) STRICT;
