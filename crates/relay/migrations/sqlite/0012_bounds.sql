-- Inbox paging, the daily thread limit, and sweeping expired rows.
--
-- `activity` is a relay-wide counter, bumped (MAX + 1, inside the writing
-- statement) whenever a thread is created or gets a message: the inbox's
-- "newest activity first" order, in commit order, with no two threads
-- equal. It is copied onto every member row (`thread_members.activity`),
-- so each account's inbox is one walk of an index, and onto each message
-- (`envelopes.activity`), so a page can put a thread that moved after the
-- first page back where it was then (`base_activity`: the counter when the
-- thread was created, or at this migration for older threads).

ALTER TABLE threads ADD COLUMN activity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN base_activity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE thread_members ADD COLUMN activity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE envelopes ADD COLUMN activity INTEGER;

UPDATE threads SET activity = ranked.n, base_activity = ranked.n
FROM (
    SELECT thread_id,
           ROW_NUMBER() OVER (ORDER BY COALESCE(last_message_at, created_at), thread_id) AS n
    FROM threads
) AS ranked
WHERE ranked.thread_id = threads.thread_id;

UPDATE thread_members
SET activity = (SELECT t.activity FROM threads t WHERE t.thread_id = thread_members.thread_id);

CREATE INDEX threads_by_activity ON threads (activity);
CREATE INDEX thread_members_inbox ON thread_members (account_id, activity, thread_id)
    WHERE removed_at IS NULL;
-- The daily limit counts an account's threads of the last 24 hours.
CREATE INDEX threads_by_creator ON threads (created_by, created_at);

-- What the sweeper deletes by time.
CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
CREATE INDEX key_challenges_by_expiry ON key_challenges (expires_at);
CREATE INDEX code_logins_by_expiry ON code_logins (expires_at);
CREATE INDEX enrollments_by_expiry ON enrollments (expires_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
