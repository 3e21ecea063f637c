-- The thread's subject, sealed by the patient under the thread's key
-- (issue 16): an envelope the relay stores and cannot read.
ALTER TABLE threads ADD COLUMN subject BYTEA CHECK (subject IS NULL OR length(subject) <= 2048);
