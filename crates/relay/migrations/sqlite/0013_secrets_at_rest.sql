-- Secrets at rest (issue 12, §5). The relay's secret lives outside the
-- database (secret_key_file, or DATA/relay-secret.key); this row records a
-- one-way check value of it (HKDF(secret, "check")), so a relay started
-- with another secret refuses to start instead of locking every
-- authenticator app out.
--
-- Its absence means the rows below were written by an older relay: on the
-- first start after this migration the relay, in one transaction, seals
-- every `totp.secret` (XChaCha20-Poly1305 under a key derived from the
-- secret, the account id as associated data), replaces every short code's
-- SHA-256 (`invites.code_hash` with `enrollments.invite_hash`,
-- `enrollments.code_hash`, `code_logins.code_hash`) with
-- HMAC-SHA256(K_code, that SHA-256), and inserts this row.
CREATE TABLE relay_secret (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    key_check BLOB NOT NULL,
    bound_at  INTEGER NOT NULL
) STRICT;
