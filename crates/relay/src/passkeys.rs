//! Passkeys: the relying party (webauthn-rs), user verification required,
//! ceremony state kept server-side, single use.

use sqlx::Row;
use url::Url;
use ward_proto::ErrorCode;
use webauthn_rs::prelude::{Passkey, Uuid};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::AppState;
use crate::error::{ApiError, StartError};
use crate::secrets::{self, now_ms};

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

/// The account's WebAuthn user handle (random, created on first use).
pub async fn user_handle(state: &AppState, account_id: &str) -> Result<Uuid, ApiError> {
    let existing: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT webauthn_user_id FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&state.db)
            .await?;
    if let Some(bytes) = existing.and_then(|b| Uuid::from_slice(&b).ok()) {
        return Ok(bytes);
    }
    let handle = Uuid::from_bytes(secrets::random::<16>()?);
    sqlx::query("UPDATE accounts SET webauthn_user_id = $1 WHERE account_id = $2 AND webauthn_user_id IS NULL")
        .bind(handle.as_bytes().as_slice())
        .bind(account_id)
        .execute(&state.db)
        .await?;
    // Another request may have set it first: read back the winner.
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT webauthn_user_id FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&state.db)
            .await?;
    Uuid::from_slice(&stored).map_err(|e| ApiError::internal("user handle", &e))
}

/// The account whose user handle this is.
pub async fn account_for_handle(
    state: &AppState,
    handle: &Uuid,
) -> Result<Option<String>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE webauthn_user_id = $1")
            .bind(handle.as_bytes().as_slice())
            .fetch_optional(&state.db)
            .await?,
    )
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
    Ok(sqlx::query_scalar::<_, crate::db::Flag>(
        "SELECT EXISTS (SELECT 1 FROM passkeys WHERE account_id = $1)
             OR EXISTS (SELECT 1 FROM totp WHERE account_id = $1 AND confirmed_at IS NOT NULL)
             OR EXISTS (SELECT 1 FROM accounts WHERE account_id = $1 AND kind = 'clinic')",
    )
    .bind(account_id)
    .fetch_one(db)
    .await?
    .0)
}

/// The account's passkeys with their ids.
pub async fn of_account(
    state: &AppState,
    account_id: &str,
) -> Result<Vec<(String, Passkey)>, ApiError> {
    sqlx::query(
        "SELECT passkey_id, passkey FROM passkeys WHERE account_id = $1 ORDER BY created_at",
    )
    .bind(account_id)
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|row| {
        let passkey: Passkey = serde_json::from_str(&row.get::<String, _>("passkey"))
            .map_err(|e| ApiError::internal("stored passkey", &e))?;
        Ok((row.get("passkey_id"), passkey))
    })
    .collect()
}

/// Stores ceremony state; returns its id.
pub async fn save_ceremony(
    state: &AppState,
    kind: &str,
    account_id: Option<&str>,
    ceremony: &impl serde::Serialize,
) -> Result<String, ApiError> {
    let id = secrets::id("cer")?;
    let json =
        serde_json::to_string(ceremony).map_err(|e| ApiError::internal("ceremony state", &e))?;
    sqlx::query("INSERT INTO ceremonies (ceremony_id, kind, account_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(kind)
        .bind(account_id)
        .bind(json)
        .bind(now_ms() + CEREMONY_VALID_MS)
        .execute(&state.db)
        .await?;
    Ok(id)
}

/// Takes (deletes and returns) a live ceremony of `kind`.
pub async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    ceremony_id: &str,
    kind: &str,
) -> Result<(Option<String>, T), ApiError> {
    let row = sqlx::query(
        "DELETE FROM ceremonies WHERE ceremony_id = $1 AND kind = $2 AND expires_at > $3 RETURNING account_id, state",
    )
    .bind(ceremony_id)
    .bind(kind)
    .bind(now_ms())
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::CeremonyExpired,
            "The passkey request expired or was already used. Start again.",
        )
    })?;
    let ceremony = serde_json::from_str(&row.get::<String, _>("state"))
        .map_err(|e| ApiError::internal("ceremony state", &e))?;
    Ok((row.get("account_id"), ceremony))
}
