-- Guesses are counted on the row being guessed, in the same statement that
-- reads its hash: parallel requests cannot exceed the limit.
ALTER TABLE enrollments ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE code_logins ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- Lockout counters forget failures after a quiet hour.
ALTER TABLE attempts ADD COLUMN last_failure_at INTEGER NOT NULL DEFAULT 0;
