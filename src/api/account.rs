//! The signed-in account: keys, vault, passkeys, TOTP, sessions.

use gloo_net::http::Method;
use ward_proto::Bytes;
use ward_proto::account::AccountHistory;
use ward_proto::auth::{ClinicInfo, SessionList, TotpCode, TotpEnrollment};
use ward_proto::keys::{BundleResponse, KeyHistoryResponse, PublishBundleRequest};
use ward_proto::passkeys::{PasskeyInfo, PasskeyList};
use ward_proto::vault::{PutVaultRequest, VaultResponse, VaultStored};

use super::{ApiError, SessionToken, call, call_empty, get, url_encode};

/// `PUT /v1/keys/me`.
pub(crate) async fn publish_bundle(token: &SessionToken, bundle: Vec<u8>) -> Result<(), ApiError> {
    let body = PublishBundleRequest {
        bundle: Bytes(bundle),
    };
    call_empty(Method::PUT, "/v1/keys/me", Some(token), Some(&body)).await
}

/// `GET /v1/keys/me`: this account's own bundle; `None` before its first
/// (an answer, not a 404, so enrollment logs no error in the console).
pub(crate) async fn own_bundle(token: &SessionToken) -> Result<Option<BundleResponse>, ApiError> {
    get("/v1/keys/me", Some(token)).await
}

/// `GET /v1/keys/{account_id}/history`: the whole hash-chained history,
/// oldest first; `None` when the account has none (or is not visible).
pub(crate) async fn key_history(
    token: &SessionToken,
    account_id: &str,
) -> Result<Option<KeyHistoryResponse>, ApiError> {
    let path = format!("/v1/keys/{}/history", url_encode(account_id));
    match get(&path, Some(token)).await {
        Ok(history) => Ok(Some(history)),
        Err(error) if error.code() == Some(ward_proto::ErrorCode::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

/// `GET /v1/account/history`: a page of the account's access log, newest
/// first: the newest, or the one just older than `before` (a page's
/// `earlier_cursor`).
pub(crate) async fn account_history(
    token: &SessionToken,
    before: Option<u64>,
) -> Result<AccountHistory, ApiError> {
    match before {
        Some(before) => get(&format!("/v1/account/history?before={before}"), Some(token)).await,
        None => get("/v1/account/history", Some(token)).await,
    }
}

/// The most pages [`account_log_back_to`] reads: 5 000 entries.
const MOST_PAGES_BACK: usize = 25;

/// The account's access log, newest first, from its newest page back to
/// the entry `back_to` (what this device verified on an earlier visit, so
/// that it can be compared), at most [`MOST_PAGES_BACK`] pages; with the
/// cursor for the page before the oldest one read.
pub(crate) async fn account_log_back_to(
    token: &SessionToken,
    back_to: Option<u64>,
) -> Result<AccountHistory, ApiError> {
    let mut log = account_history(token, None).await?;
    for _ in 1..MOST_PAGES_BACK {
        let (Some(want), Some(before)) = (back_to, log.earlier_cursor) else {
            break;
        };
        if want >= before {
            break;
        }
        let page = account_history(token, Some(before)).await?;
        log.events.extend(page.events);
        log.earlier_cursor = page.earlier_cursor;
    }
    Ok(log)
}

/// `POST /v1/account/recovery-code-used`: this device opened the account
/// with its recovery code (for the access log; the relay never sees it).
pub(crate) async fn recovery_code_used(token: &SessionToken) -> Result<(), ApiError> {
    call_empty::<()>(
        Method::POST,
        "/v1/account/recovery-code-used",
        Some(token),
        None,
    )
    .await
}

/// `GET /v1/vault`; `None` before the first one is stored.
pub(crate) async fn vault(token: &SessionToken) -> Result<Option<VaultResponse>, ApiError> {
    match get("/v1/vault", Some(token)).await {
        Ok(vault) => Ok(Some(vault)),
        Err(error) if error.code() == Some(ward_proto::ErrorCode::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

/// `PUT /v1/vault` over `expected_version` (409 `vault_stale` otherwise).
pub(crate) async fn put_vault(
    token: &SessionToken,
    expected_version: u64,
    vault: Vec<u8>,
) -> Result<VaultStored, ApiError> {
    let body = PutVaultRequest {
        expected_version,
        vault: Bytes(vault),
    };
    call(Method::PUT, "/v1/vault", Some(token), &body).await
}

/// `GET /v1/clinic?lang=`: the clinic's texts in `lang` (a tag such as
/// `es`) where it has them.
pub(crate) async fn clinic(token: &SessionToken, lang: &str) -> Result<ClinicInfo, ApiError> {
    get(&["/v1/clinic?lang=", lang].concat(), Some(token)).await
}

/// `GET /v1/passkeys`.
pub(crate) async fn passkeys(token: &SessionToken) -> Result<PasskeyList, ApiError> {
    get("/v1/passkeys", Some(token)).await
}

/// `PATCH /v1/passkeys/{id}`.
pub(crate) async fn rename_passkey(
    token: &SessionToken,
    passkey_id: &str,
    label: &str,
) -> Result<PasskeyInfo, ApiError> {
    let path = format!("/v1/passkeys/{}", url_encode(passkey_id));
    let body = serde_json::json!({ "label": label });
    call(Method::PATCH, &path, Some(token), &body).await
}

/// `DELETE /v1/passkeys/{id}` (step-up).
pub(crate) async fn remove_passkey(token: &SessionToken, passkey_id: &str) -> Result<(), ApiError> {
    let path = format!("/v1/passkeys/{}", url_encode(passkey_id));
    call_empty::<()>(Method::DELETE, &path, Some(token), None).await
}

/// `POST /v1/totp/enroll` (step-up): a secret to confirm.
pub(crate) async fn totp_enroll(token: &SessionToken) -> Result<TotpEnrollment, ApiError> {
    call(
        Method::POST,
        "/v1/totp/enroll",
        Some(token),
        &serde_json::json!({}),
    )
    .await
}

/// `POST /v1/totp/confirm`.
pub(crate) async fn totp_confirm(token: &SessionToken, code: &str) -> Result<(), ApiError> {
    let body = TotpCode {
        code: code.to_owned(),
    };
    call_empty(Method::POST, "/v1/totp/confirm", Some(token), Some(&body)).await
}

/// `DELETE /v1/totp` (step-up).
pub(crate) async fn totp_disable(token: &SessionToken) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, "/v1/totp", Some(token), None).await
}

/// `GET /v1/sessions`.
pub(crate) async fn sessions(token: &SessionToken) -> Result<SessionList, ApiError> {
    get("/v1/sessions", Some(token)).await
}

/// `DELETE /v1/sessions/{id}`.
pub(crate) async fn revoke_session(token: &SessionToken, session_id: &str) -> Result<(), ApiError> {
    let path = format!("/v1/sessions/{}", url_encode(session_id));
    call_empty::<()>(Method::DELETE, &path, Some(token), None).await
}

/// `GET /v1/totp`: whether the authenticator app is on.
pub(crate) async fn totp_status(
    token: &SessionToken,
) -> Result<ward_proto::auth::TotpStatus, ApiError> {
    get("/v1/totp", Some(token)).await
}

/// `GET /v1/account/consent`: what this account agreed to, and the text as
/// it stands in the language shown.
pub(crate) async fn consent(
    token: &SessionToken,
) -> Result<ward_proto::account::ConsentStatus, ApiError> {
    // `current` in the language shown (the relay keeps the one agreed to).
    get(&super::in_language("/v1/account/consent"), Some(token)).await
}

/// `POST /v1/account/consent`: agree to `text`, exactly as shown.
pub(crate) async fn agree(
    token: &SessionToken,
    text: &ward_proto::account::ConsentText,
) -> Result<ward_proto::account::ConsentStatus, ApiError> {
    let body = ward_proto::account::ConsentAccept {
        version: text.version.clone(),
        sha256: text.sha256.clone(),
    };
    call(Method::POST, "/v1/account/consent", Some(token), &body).await
}

/// [`agree`]; when refused because the clinic changed the text since it
/// was shown, also where the account stands now (the new text, to show).
pub(crate) async fn agree_or_reread(
    token: &SessionToken,
    text: &ward_proto::account::ConsentText,
) -> Result<
    ward_proto::account::ConsentStatus,
    (ApiError, Option<ward_proto::account::ConsentStatus>),
> {
    match agree(token, text).await {
        Ok(status) => Ok(status),
        Err(error) if error.code() == Some(ward_proto::ErrorCode::ConsentChanged) => {
            let now = consent(token).await.ok();
            Err((error, now))
        }
        Err(error) => Err((error, None)),
    }
}

/// `POST /v1/account/consent/withdraw`.
pub(crate) async fn withdraw_consent(
    token: &SessionToken,
) -> Result<ward_proto::account::ConsentStatus, ApiError> {
    call(
        Method::POST,
        "/v1/account/consent/withdraw",
        Some(token),
        &(),
    )
    .await
}
