//! `GET /v1/caregivers`: the people who help a patient (invited, active,
//! removed), and the patients a caregiver helps.

use serde::{Deserialize, Serialize};

/// Where a caregiver stands with the patient who invited them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaregiverStatus {
    /// Invited; the invite has not been used yet and is still valid.
    Invited,
    /// Invited, but the invite expired unused: invite them again.
    InviteExpired,
    /// They used the invite and its one-time code, but have no passkey (or
    /// authenticator app) yet: they cannot help until they finish.
    Enrolling,
    /// Enrolled with their own passkey: the patient may share threads
    /// with them.
    Active,
    /// The patient removed them: nothing more is shared with them. (The
    /// relay keeps the state for the removal of a caregiver as a whole;
    /// today a patient removes them thread by thread.)
    Removed,
}

/// One person the patient invited to help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Caregiver {
    /// Their account, once they enrolled (none while invited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Their name, as the patient gave it.
    pub display_name: String,
    /// Where the invite's one-time code went, partly hidden
    /// (`d•••@example.com`).
    pub contact_hint: String,
    /// Where they stand.
    pub status: CaregiverStatus,
    /// When the patient invited them (Unix milliseconds).
    pub invited_at: u64,
    /// When the invite expires or expired, while it is unused (Unix
    /// milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_expires_at: Option<u64>,
    /// When they enrolled (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_since: Option<u64>,
    /// When the patient removed them (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<u64>,
}

/// A patient a caregiver helps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HelpedPatient {
    /// The patient's account.
    pub account_id: String,
    /// The patient's name.
    pub display_name: String,
    /// Since when the caregiver helps them (Unix milliseconds).
    pub since: u64,
}

/// `GET /v1/caregivers`: for a patient, the people they invited, newest
/// first (`patients` empty); for a caregiver, the patients they help
/// (`caregivers` empty); for the clinic, both empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct People {
    /// The caller's role: which of the two lists applies to them.
    pub role: crate::threads::Role,
    /// The caller's caregivers, invited ones included.
    pub caregivers: Vec<Caregiver>,
    /// The patients the caller helps.
    pub patients: Vec<HelpedPatient>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_snake_case_and_unset_times_are_left_out() {
        let invited = Caregiver {
            account_id: None,
            display_name: "Dana".into(),
            contact_hint: "d•••@example.com".into(),
            status: CaregiverStatus::InviteExpired,
            invited_at: 1,
            invite_expires_at: Some(2),
            active_since: None,
            removed_at: None,
        };
        let json = serde_json::to_string(&invited).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"display_name":"Dana","contact_hint":"d•••@example.com","status":"invite_expired","invited_at":1,"invite_expires_at":2}"#
        );
        assert_eq!(serde_json::from_str::<Caregiver>(&json).ok(), Some(invited));
    }
}
