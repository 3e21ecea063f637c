//! Passkey (WebAuthn) ceremonies. User verification is always required.

use serde::{Deserialize, Serialize};
pub use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

/// `POST /v1/passkeys/register/start` (signed in): options for
/// `navigator.credentials.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationStarted {
    /// Names this ceremony in the finish call (single use, 5 minutes).
    pub ceremony_id: String,
    /// Pass as `publicKey` (the client may add the PRF extension).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: CreationChallengeResponse,
}

/// `POST /v1/passkeys/register/finish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishRegistration {
    /// From [`RegistrationStarted`].
    pub ceremony_id: String,
    /// What `navigator.credentials.create` returned.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: RegisterPublicKeyCredential,
    /// A name the patient recognises ("Pixel 7", "Work laptop").
    pub label: String,
}

/// A registered passkey, as listed in Settings → Security.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    /// Ward's id for it.
    pub passkey_id: String,
    /// Its label.
    pub label: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when it was last used: to sign in, or to be created
    /// (which takes the same fingerprint, face or screen lock).
    pub last_used_at: Option<u64>,
}

/// `PATCH /v1/passkeys/{passkey_id}` (signed in): gives one of the caller's
/// passkeys a new label; the answer is the updated [`PasskeyInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenamePasskey {
    /// The new name ("Pixel 7", "Work laptop"): trimmed, then 1 to 100
    /// characters without line breaks, the same rule as when registering.
    pub label: String,
}

/// `GET /v1/passkeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyList {
    /// Oldest first.
    pub passkeys: Vec<PasskeyInfo>,
}

/// `POST /v1/auth/passkey/start`: without `account_id`, a discoverable
/// ceremony (no username; conditional UI); with it, one limited to that
/// account's passkeys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartAuthentication {
    /// The account, when the device remembers it.
    #[serde(default)]
    pub account_id: Option<String>,
}

/// Options for `navigator.credentials.get`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticationStarted {
    /// Names this ceremony in the finish call (single use, 5 minutes).
    pub ceremony_id: String,
    /// Pass as `publicKey` (the client may add the PRF extension).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: RequestChallengeResponse,
}

/// `POST /v1/auth/passkey/finish`: on success, a new session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FinishAuthentication {
    /// From [`AuthenticationStarted`].
    pub ceremony_id: String,
    /// What `navigator.credentials.get` returned.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: PublicKeyCredential,
}
