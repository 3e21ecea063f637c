-- Archive chain, retention and legal hold.
--
-- `envelopes.chain`: each stored envelope's link in its thread's archive
-- chain (SHA-256, 32 bytes; docs/crypto.md, "Archive chain"), computed in
-- the transaction that stores the envelope. NULL only for envelopes stored
-- before this migration, until the relay's start fills them in (the hash
-- needs SHA-256, which SQL cannot compute here).
ALTER TABLE envelopes ADD COLUMN chain BYTEA;

-- `threads.head_chain`: the chain of message `last_seq` (NULL: none yet).
-- `pruned_through_seq` / `pruned_chain`: retention deleted messages
-- 1..=pruned_through_seq; the chain of the last one is kept so the rest
-- still proves complete.
ALTER TABLE threads ADD COLUMN head_chain BYTEA;
ALTER TABLE threads ADD COLUMN pruned_through_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN pruned_chain BYTEA;

-- Set by the clinic: while 1, retention deletes nothing from any thread
-- this account is or was a member of.
ALTER TABLE accounts ADD COLUMN legal_hold BIGINT NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1));

-- The retention sweep looks for old envelopes by time.
CREATE INDEX envelopes_by_received ON envelopes (received_at);
