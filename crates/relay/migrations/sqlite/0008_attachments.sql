-- Encrypted attachments: uploads in parts that become blobs, and which
-- messages reference them. The part bytes (ciphertext only) live in the
-- blob store, local files or a bucket, under the object name each part row
-- records. Sizes are bytes of ciphertext; times are Unix milliseconds.

-- An upload and, once finalized, the blob it became (same id).
CREATE TABLE blobs (
    blob_id      TEXT PRIMARY KEY NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES accounts (account_id),
    size         INTEGER NOT NULL CHECK (size > 0),
    part_count   INTEGER NOT NULL CHECK (part_count > 0),
    created_at   INTEGER NOT NULL,
    finalized_at INTEGER,
    -- The cleanup pass deletes it at this time: an unfinished upload, or a
    -- finalized blob no message has referenced yet. NULL once a message
    -- references it: it is then kept with the message.
    expires_at   INTEGER
) STRICT;
CREATE INDEX blobs_by_owner ON blobs (owner_id);
CREATE INDEX blobs_by_expiry ON blobs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE blob_parts (
    blob_id    TEXT NOT NULL REFERENCES blobs (blob_id),
    part_index INTEGER NOT NULL,
    size       INTEGER NOT NULL CHECK (size > 0),
    -- The blob store object holding the part's bytes (immutable; a retried
    -- part gets a new object and the old one is deleted).
    object     TEXT NOT NULL,
    stored_at  INTEGER NOT NULL,
    PRIMARY KEY (blob_id, part_index)
) STRICT;

-- The blobs a message's sender attached, in the order listed. Every current
-- member of the message's thread may download them.
CREATE TABLE message_attachments (
    thread_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    blob_id   TEXT NOT NULL REFERENCES blobs (blob_id),
    PRIMARY KEY (thread_id, seq, position),
    UNIQUE (thread_id, seq, blob_id),
    FOREIGN KEY (thread_id, seq) REFERENCES envelopes (thread_id, seq)
) STRICT;
CREATE INDEX message_attachments_by_blob ON message_attachments (blob_id);
