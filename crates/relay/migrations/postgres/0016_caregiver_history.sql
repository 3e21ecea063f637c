-- The patient's account history records what happens to their caregivers'
-- access (issue 15): a thread unshared, a grant changed or renewed, a
-- caregiver removed, leaving, or run out.
ALTER TABLE account_events DROP CONSTRAINT account_events_kind_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_kind_check CHECK (kind IN (
    'bundle_published', 'bundle_changed', 'vault_changed',
    'passkey_added', 'passkey_removed', 'totp_enabled',
    'totp_disabled', 'signed_in', 'session_revoked',
    'caregiver_invited', 'thread_shared', 'thread_unshared',
    'caregiver_changed', 'caregiver_removed', 'caregiver_left',
    'caregiver_expired'));
