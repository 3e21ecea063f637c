//! The account's own history of security-relevant changes.

use serde::{Deserialize, Serialize};

/// `GET /v1/account/history`: newest first, at most 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountHistory {
    /// The events, newest first.
    pub events: Vec<AccountEvent>,
}

/// One change to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEvent {
    /// Position in the account's history.
    pub seq: u64,
    /// What happened.
    pub kind: AccountEventKind,
    /// When (Unix seconds).
    pub at: u64,
    /// The session that made the change, when one did.
    pub session_id: Option<String>,
    /// More about it (a passkey's name, say).
    pub detail: Option<String>,
}

/// What happened to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountEventKind {
    /// The first bundle was published.
    BundlePublished,
    /// A different bundle replaced the current one.
    BundleChanged,
    /// The key vault was replaced.
    VaultChanged,
    /// A passkey was added.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// The authenticator app was turned on.
    TotpEnabled,
    /// The authenticator app was turned off.
    TotpDisabled,
    /// A sign-in.
    SignedIn,
    /// A session was signed out.
    SessionRevoked,
}
