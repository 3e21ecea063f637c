-- Delivered/read receipts per member: they only move forward, so one
-- high-water mark per member and kind records them all.
ALTER TABLE thread_members ADD COLUMN last_delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE thread_members ADD COLUMN last_read_at INTEGER;
