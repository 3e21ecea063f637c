-- Web Push (issue 18, docs/push.md). A session's device may hold one push
-- subscription; it goes when the session is signed out, revoked or swept
-- (the relay deletes it on revocation; the sweep's delete cascades).
-- `tested_at` spaces test notifications (one per 10 s per session).
CREATE TABLE push_subscriptions (
    session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     BYTEA NOT NULL,
    auth       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    tested_at  BIGINT
);
CREATE INDEX push_subscriptions_by_account ON push_subscriptions (account_id);

-- Presence across relay instances: set (Unix ms) when a WebSocket of the
-- session opens, refreshed every minute while one is open, cleared when the
-- last closes. An account with a session whose socket_at is recent gets no
-- pushes.
ALTER TABLE sessions ADD COLUMN socket_at BIGINT;
