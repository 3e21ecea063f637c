-- Passkeys (WebAuthn credentials) and in-flight ceremonies.

ALTER TABLE accounts ADD COLUMN webauthn_user_id BLOB;

CREATE TABLE passkeys (
    passkey_id    TEXT PRIMARY KEY NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    credential_id BLOB NOT NULL UNIQUE,
    passkey       TEXT NOT NULL, -- webauthn-rs Passkey (public key, counter), JSON
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX passkeys_by_account ON passkeys (account_id);

-- Server-side ceremony state: single use, short-lived.
CREATE TABLE ceremonies (
    ceremony_id TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'authenticate', 'discover')),
    account_id  TEXT REFERENCES accounts (account_id),
    state       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
