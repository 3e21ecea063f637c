-- A send in one round trip (issue 14). The relay's send transaction took
-- about seven statements on PostgreSQL (begin, the thread lock, the slot,
-- the envelope, the chain head, the inboxes, commit), each a round trip
-- and two context switches; on two shared cores those, not the work,
-- set how many messages a relay stored. This function runs the same steps
-- in the same order inside the one statement that calls it (its own
-- transaction), for a message without attachments; a message with
-- attachments still takes the statement-by-statement path.
--
-- The archive link is finished here, since the database assigns the seq
-- and holds the previous link: SHA-256(label || prev || seq || tail), where
-- `tail` comes from the relay (`ward_seal::archive::tail`: the ids with
-- their lengths, the envelope's digest, received_at). docs/crypto.md §5a.
--
-- Answers nothing if the epoch moved, a member left since it began or the
-- sender is not a member (nothing written); one row per current member
-- once stored. Raises unique_violation, undoing the slot it took, if the
-- sender already stored a message with this id (a retry that raced this
-- one); the relay answers that with the stored original.
CREATE FUNCTION ward_store_message(
    p_thread_id   TEXT,
    p_epoch       BIGINT,
    p_sender_id   TEXT,
    p_message_id  TEXT,
    p_envelope    BYTEA,
    p_received_at BIGINT,
    p_link_tail   BYTEA
) RETURNS TABLE (stored_seq BIGINT, stored_chain BYTEA, recipient_id TEXT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_seq      BIGINT;
    v_activity BIGINT;
    v_chain    BYTEA;
BEGIN
    -- The thread's write scope, as crate::db::thread_scope names it: the
    -- archive backfill, retention and epoch changes of this thread wait.
    PERFORM pg_advisory_xact_lock(hashtextextended('thread:' || p_thread_id, 0));
    UPDATE threads t
       SET last_seq = t.last_seq + 1,
           last_message_at = p_received_at,
           activity = pg_current_xact_id()::text::bigint + (SELECT xid_offset FROM activity_base),
           head_chain = sha256('ward archive chain v1'::bytea
                               || COALESCE(t.head_chain, decode(repeat('00', 32), 'hex'))
                               || int8send(t.last_seq + 1)
                               || p_link_tail)
     WHERE t.thread_id = p_thread_id AND t.current_epoch = p_epoch AND t.needs_rekey = 0
       AND EXISTS (SELECT 1 FROM thread_members m
                    WHERE m.thread_id = p_thread_id AND m.account_id = p_sender_id
                      AND m.removed_at IS NULL)
    RETURNING t.last_seq, t.activity, t.head_chain INTO v_seq, v_activity, v_chain;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO envelopes (thread_id, seq, message_id, sender_id, epoch, envelope, received_at, activity, chain)
    VALUES (p_thread_id, v_seq, p_message_id, p_sender_id, p_epoch, p_envelope, p_received_at, v_activity, v_chain)
    ON CONFLICT (thread_id, sender_id, message_id) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'this message id is stored already'
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'envelopes_thread_id_sender_id_message_id_key';
    END IF;
    RETURN QUERY
    WITH moved AS (
        UPDATE thread_members m SET activity = v_activity
         WHERE m.thread_id = p_thread_id
        RETURNING m.account_id, m.removed_at
    )
    SELECT v_seq, v_chain, moved.account_id FROM moved WHERE moved.removed_at IS NULL;
END
$$;
