-- One counter per protected key (an account's authenticator app, a client
-- address, a contact codes go to, an inviting account), counted in the
-- statement that decides whether a guess may be compared or a code sent
-- (src/lockout.rs). Keys are `purpose:` and a hash of the subject. A row
-- whose window has ended counts for nothing and may be deleted.
CREATE TABLE guess_counts (
    key        TEXT PRIMARY KEY NOT NULL,
    count      INTEGER NOT NULL,
    window_end INTEGER NOT NULL
) STRICT;
CREATE INDEX guess_counts_by_window_end ON guess_counts (window_end);

-- Replaced by guess_counts (it was checked, then updated: not atomic).
DROP TABLE attempts;

-- Caregiver invites are capped per patient, pending and per day.
CREATE INDEX invites_by_patient ON invites (for_patient, created_at) WHERE for_patient IS NOT NULL;
-- Attachment quota is per patient with the caregivers they invited.
CREATE INDEX caregiver_links_by_caregiver ON caregiver_links (caregiver_id);
