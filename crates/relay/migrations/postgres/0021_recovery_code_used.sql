-- The access-log kind for an account opened with its recovery code (issue
-- 15), reported by the patient's app (the relay never sees the code).
ALTER TABLE account_events DROP CONSTRAINT account_events_kind_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_kind_check CHECK (kind IN (
    'bundle_published', 'bundle_changed', 'vault_changed',
    'passkey_added', 'passkey_removed', 'totp_enabled',
    'totp_disabled', 'signed_in', 'session_revoked',
    'caregiver_invited', 'thread_shared', 'thread_unshared',
    'caregiver_changed', 'caregiver_removed', 'caregiver_left',
    'caregiver_expired', 'sign_in_failed', 'signed_out',
    'caregiver_accepted', 'caregiver_read', 'caregiver_sent',
    'attachment_downloaded', 'consent_given',
    'consent_withdrawn', 'caregiver_assented',
    'recovery_code_used'));
