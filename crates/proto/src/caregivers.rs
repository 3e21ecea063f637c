//! `GET /v1/caregivers`: the people who help a patient (invited, active,
//! removed), and the patients a caregiver helps.

use serde::{Deserialize, Serialize};

/// Where a caregiver stands with the patient who invited them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
    /// Enrolled, appointed by the clinic, for a patient aged 13 to 17 who
    /// has not agreed to them yet: nothing can be shared with them until
    /// the patient does (`POST /v1/caregivers/{account_id}/assent`).
    AwaitingAssent,
    /// Their access reached its end date: they were taken out of every
    /// shared thread. The patient may renew it and share threads again.
    Expired,
    /// The patient removed them (or they left): nothing more is shared
    /// with them.
    Removed,
}

deserialize_by_name!(CaregiverStatus, "caregiver status", [Invited => "invited", InviteExpired => "invite_expired", Enrolling => "enrolling", Active => "active", AwaitingAssent => "awaiting_assent", Expired => "expired", Removed => "removed"]);

/// How a caregiver is related to the patient, as the invite said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// The patient's parent (or guardian).
    Parent,
    /// The patient's son or daughter.
    Child,
    /// The patient's spouse or partner.
    Spouse,
    /// Anyone else: a friend, a sibling, a paid carer.
    Other,
}

deserialize_by_name!(Relationship, "relationship", [Parent => "parent", Child => "child", Spouse => "spouse", Other => "other"]);

impl Relationship {
    /// Every relationship, in the order a patient is offered them.
    pub const ALL: [Self; 4] = [Self::Parent, Self::Child, Self::Spouse, Self::Other];

    /// The name on the wire and in the database.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::Child => "child",
            Self::Spouse => "spouse",
            Self::Other => "other",
        }
    }
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
    /// Whether they may send and attach in the threads shared with them
    /// (else they only read). Set once they enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_send: Option<bool>,
    /// Whether every thread of the patient's, today's and later ones, is
    /// shared with them, except those kept "Only me" (else the threads the
    /// patient chooses). Set once they enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_threads: Option<bool>,
    /// When their access ends or ended (Unix milliseconds). Set once they
    /// enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_ends_at: Option<u64>,
    /// How they are related to the patient (unset on invites made before
    /// the relay asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Relationship>,
    /// The clinic invited them (a guardian or personal representative),
    /// not the patient.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub appointed_by_clinic: bool,
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
    /// Whether the caregiver may send for them (else read only).
    pub can_send: bool,
    /// Whether the patient shares all their threads but "Only me" ones
    /// (else the ones they choose).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_threads: bool,
    /// When the caregiver's access ends (Unix milliseconds).
    pub access_ends_at: u64,
    /// The patient (13 to 17) has not yet agreed to this caregiver, whom
    /// the clinic appointed: nothing is shared until they do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_assent: bool,
}

/// `POST /v1/accounts/{account_id}/guardians` (the clinic): invite a
/// guardian or personal representative to help a patient. They enroll like
/// any caregiver; the patient sees them in their list, and a patient aged
/// 13 to 17 must agree to them first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardianInviteRequest {
    /// Their name.
    pub display_name: String,
    /// How they are related to the patient.
    pub relationship: Relationship,
    /// Where their one-time codes go.
    pub contact: String,
}

/// `PUT /v1/accounts/{account_id}/birth-date` (the clinic): a patient's
/// birth date, which makes them a minor until 18 (`null`: none on record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BirthDateRequest {
    /// `YYYY-MM-DD`, or `null` to remove it.
    pub birth_date: Option<String>,
}

/// `PATCH /v1/caregivers/{account_id}` (the patient): what a caregiver may
/// do, and for how long. Fields left out stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GrantChange {
    /// `true`: read, send and attach; `false`: read only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_send: Option<bool>,
    /// `true`: every thread, today's and later ones, except those kept
    /// "Only me" (the patient's app shares each one as it appears);
    /// `false`: the threads the patient chooses (those shared so far stay
    /// shared until the patient stops sharing them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_threads: Option<bool>,
    /// Renews the access for 3, 6, 12 or 18 months from now (18 is the
    /// longest a grant runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
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
            can_send: None,
            all_threads: None,
            access_ends_at: None,
            relationship: None,
            appointed_by_clinic: false,
        };
        let json = serde_json::to_string(&invited).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"display_name":"Dana","contact_hint":"d•••@example.com","status":"invite_expired","invited_at":1,"invite_expires_at":2}"#
        );
        assert_eq!(serde_json::from_str::<Caregiver>(&json).ok(), Some(invited));
    }
}

#[cfg(test)]
mod caregiver_status_names {
    #![allow(clippy::unwrap_used)]

    use super::CaregiverStatus;

    /// Each caregiver status reads back from what it writes; another name is an error.
    #[test]
    fn every_caregiver_status_names_round_trips_by_name() {
        for value in [
            CaregiverStatus::Invited,
            CaregiverStatus::InviteExpired,
            CaregiverStatus::Enrolling,
            CaregiverStatus::Active,
            CaregiverStatus::AwaitingAssent,
            CaregiverStatus::Expired,
            CaregiverStatus::Removed,
        ] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(
                serde_json::from_str::<CaregiverStatus>(&json).unwrap(),
                value
            );
        }
        assert!(serde_json::from_str::<CaregiverStatus>("\"nobody\"").is_err());
    }
}
