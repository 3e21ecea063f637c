//! The account's own history of security-relevant changes.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountEventKind {
    /// The first key bundle was published.
    BundlePublished,
    /// A different key bundle replaced the current one.
    BundleChanged,
    /// The encrypted vault was written.
    VaultChanged,
    /// A passkey was added.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// An authenticator app was confirmed.
    TotpEnabled,
    /// The authenticator app was turned off.
    TotpDisabled,
    /// A sign-in (a new session).
    SignedIn,
    /// A session was signed out remotely.
    SessionRevoked,
    /// The patient invited a caregiver (the detail is the name on the invite).
    CaregiverInvited,
    /// The patient shared a thread with a caregiver (the detail is the
    /// caregiver's account id).
    ThreadShared,
    /// The patient stopped sharing a thread with a caregiver (the detail
    /// is the caregiver's account id).
    ThreadUnshared,
    /// The patient changed what a caregiver may do (read only or not) or
    /// renewed their access (the detail is the caregiver's account id).
    CaregiverChanged,
    /// The patient removed a caregiver (the detail is the caregiver's
    /// account id).
    CaregiverRemoved,
    /// A caregiver stopped helping the patient (the detail is the
    /// caregiver's account id).
    CaregiverLeft,
    /// A caregiver's access ran out (the detail is the caregiver's account
    /// id).
    CaregiverExpired,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEvent {
    /// Its position in the account's history, from 0.
    pub seq: u64,
    /// What happened.
    pub kind: AccountEventKind,
    /// When (Unix seconds).
    pub at: u64,
    /// The session that did it (for `signed_in`, the new one).
    pub session_id: Option<String>,
    /// More about it: the key-history seq, the passkey's label, the revoked
    /// session, how the sign-in happened.
    pub detail: Option<String>,
}

/// `GET /v1/account/history`: newest first, at most 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountHistory {
    /// The events.
    pub events: Vec<AccountEvent>,
}

/// `PUT /v1/accounts/{account_id}/legal-hold` (the clinic only): puts an
/// account's threads on legal hold, or lifts it. While any current or past
/// member of a thread is on hold, retention deletes nothing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LegalHoldRequest {
    /// `true` to hold, `false` to lift the hold.
    pub hold: bool,
}

/// The answer to [`LegalHoldRequest`]: the account's hold as stored now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegalHold {
    /// The account.
    pub account_id: String,
    /// Whether it is on legal hold.
    pub hold: bool,
}
