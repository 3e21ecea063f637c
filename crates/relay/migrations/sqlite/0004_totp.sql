-- TOTP (RFC 6238) as the second factor of the fallback sign-in, and that
-- sign-in's first factor: a one-time code to the contact on file.

CREATE TABLE totp (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (account_id),
    secret       BLOB NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE code_logins (
    login_id   TEXT PRIMARY KEY NOT NULL,
    account_id TEXT REFERENCES accounts (account_id),
    code_hash  BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
