//! Passkeys: the relying party (webauthn-rs), user verification required,
//! ceremony state kept server-side, single use.

use url::Url;
use ward_proto::ErrorCode;
use webauthn_rs::prelude::{Passkey, Uuid};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::error::{ApiError, StartError};
use crate::secrets::{self, now_ms};
use crate::{AppState, store};

/// How long a ceremony may take.
pub const CEREMONY_VALID_MS: i64 = 5 * 60_000;

/// The relying party for `origin` (its host is the RP id; on localhost any
/// port is accepted, for development and tests).
pub fn webauthn(origin: &str) -> Result<Webauthn, StartError> {
    let failed = |reason: String| StartError::Origin {
        origin: origin.to_owned(),
        reason,
    };
    let url = Url::parse(origin).map_err(|e| failed(e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| failed("no host".into()))?
        .to_owned();
    WebauthnBuilder::new(&host, &url)
        .map_err(|e| failed(e.to_string()))?
        .rp_name("Ward")
        .allow_any_port(host == "localhost")
        .build()
        .map_err(|e| failed(e.to_string()))
}

/// What a stored ceremony is for (`ceremonies.kind`, stored by name
/// through [`crate::db::Named`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey to a signed-in account.
    Register,
    /// Signing in to a named account (or a decoy for an unknown one).
    Authenticate,
    /// Signing in with a discoverable passkey, no account named.
    Discover,
}

/// The account's WebAuthn user handle (random, created on first use).
pub async fn user_handle(state: &AppState, account_id: &str) -> Result<Uuid, ApiError> {
    let existing = store::accounts::webauthn_user_id(&state.db, account_id).await?;
    if let Some(bytes) = existing.and_then(|b| Uuid::from_slice(&b).ok()) {
        return Ok(bytes);
    }
    let handle = Uuid::from_bytes(secrets::random::<16>()?);
    store::accounts::set_webauthn_user_id(&state.db, account_id, handle.as_bytes().as_slice())
        .await?;
    // Another request may have set it first: read back the winner.
    let stored = store::accounts::webauthn_user_id(&state.db, account_id)
        .await?
        .ok_or_else(|| ApiError::internal("user handle", &"none stored"))?;
    Uuid::from_slice(&stored).map_err(|e| ApiError::internal("user handle", &e))
}

/// The account whose user handle this is.
pub async fn account_for_handle(
    state: &AppState,
    handle: &Uuid,
) -> Result<Option<String>, ApiError> {
    Ok(store::accounts::by_webauthn_user_id(&state.db, handle.as_bytes().as_slice()).await?)
}

/// Whether the account can sign in by itself: it has a passkey or a
/// confirmed authenticator app, or it is the clinic (which signs in with its
/// account key). Until it can, every session it has came from its invite and
/// a code sent to its contact: its invite resumes enrollment
/// (`routes::enroll`) and its first passkey needs no step-up
/// (`routes::passkeys`, whose registration re-checks this in the insert).
pub async fn has_sign_in_method(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
) -> Result<bool, ApiError> {
    Ok(store::accounts::has_sign_in_method(db, account_id).await?)
}

/// Parses a stored passkey.
pub fn parse(stored: &str) -> Result<Passkey, ApiError> {
    serde_json::from_str(stored).map_err(|e| ApiError::internal("stored passkey", &e))
}

/// The account's passkeys with their ids.
pub async fn of_account(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<(String, Passkey)>, ApiError> {
    store::passkeys::of_account(&state.db, account_id)
        .await?
        .into_iter()
        .map(|stored| Ok((stored.passkey_id, parse(&stored.passkey)?)))
        .collect()
}

/// Stores ceremony state; returns its id.
pub async fn save_ceremony(
    state: &AppState,
    kind: CeremonyKind,
    account_id: Option<&str>,
    ceremony: &impl serde::Serialize,
) -> Result<String, ApiError> {
    let id = secrets::id("cer")?;
    let json =
        serde_json::to_string(ceremony).map_err(|e| ApiError::internal("ceremony state", &e))?;
    store::passkeys::save_ceremony(
        &state.db,
        &id,
        kind,
        account_id,
        &json,
        now_ms() + CEREMONY_VALID_MS,
    )
    .await?;
    Ok(id)
}

/// Takes (deletes and returns) a live ceremony of `kind`.
pub async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    ceremony_id: &str,
    kind: CeremonyKind,
) -> Result<(Option<String>, T), ApiError> {
    let taken = store::passkeys::take_ceremony(&state.db, ceremony_id, kind, now_ms())
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::CeremonyExpired,
                "The passkey request expired or was already used. Start again.",
            )
        })?;
    let ceremony =
        serde_json::from_str(&taken.state).map_err(|e| ApiError::internal("ceremony state", &e))?;
    Ok((taken.account_id, ceremony))
}
