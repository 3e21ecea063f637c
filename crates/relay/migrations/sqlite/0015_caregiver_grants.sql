-- Caregiver grants: what a caregiver may do for their patient, and until
-- when (issue 15).
--
-- `can_send`: 1 lets the caregiver send and attach in the threads shared
-- with them; 0 lets them read only.
-- `expires_at`: when the grant ends (Unix ms); from then on the relay
-- serves the caregiver nothing of the patient's, and the sweep removes
-- them from the shared threads. Links from before this migration get the
-- default length, 12 months from when they were made.
ALTER TABLE caregiver_links ADD COLUMN can_send INTEGER NOT NULL DEFAULT 1 CHECK (can_send IN (0, 1));
ALTER TABLE caregiver_links ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE caregiver_links SET expires_at = created_at + 31556952000;

-- `only_me`: 1 when the patient keeps the thread to themselves; it is
-- never shared with a caregiver.
-- `needs_rekey`: 1 when a member was removed (or their grant ended) after
-- the current epoch was sealed to them; the next epoch, sealed without
-- them, clears it.
ALTER TABLE threads ADD COLUMN only_me INTEGER NOT NULL DEFAULT 0 CHECK (only_me IN (0, 1));
ALTER TABLE threads ADD COLUMN needs_rekey INTEGER NOT NULL DEFAULT 0 CHECK (needs_rekey IN (0, 1));

-- The sweep looks for grants past their end.
CREATE INDEX caregiver_links_by_expiry ON caregiver_links (expires_at) WHERE revoked_at IS NULL;
