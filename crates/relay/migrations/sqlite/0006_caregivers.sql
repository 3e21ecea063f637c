-- Caregivers: invited by a patient, linked to that patient, granted threads
-- one by one (with the history's keys sealed to them), revocable.

ALTER TABLE invites ADD COLUMN kind TEXT NOT NULL DEFAULT 'patient' CHECK (kind IN ('patient', 'caregiver'));
ALTER TABLE invites ADD COLUMN for_patient TEXT REFERENCES accounts (account_id);

CREATE TABLE caregiver_links (
    patient_id   TEXT NOT NULL REFERENCES accounts (account_id),
    caregiver_id TEXT NOT NULL REFERENCES accounts (account_id),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    PRIMARY KEY (patient_id, caregiver_id)
) STRICT;
