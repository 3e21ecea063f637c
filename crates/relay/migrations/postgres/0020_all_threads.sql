-- A caregiver's scope (issue 15): `all_threads` 1 shares every thread of
-- the patient's with them, today's and those started later, except the
-- ones kept "Only me"; 0 (the default) shares the threads the patient
-- chooses. The patient's app does the sharing (only it can seal thread keys
-- to the caregiver); the relay holds the choice so every device of the
-- patient's, and the caregiver, read the same scope.
ALTER TABLE caregiver_links ADD COLUMN all_threads BIGINT NOT NULL DEFAULT 0 CHECK (all_threads IN (0, 1));
