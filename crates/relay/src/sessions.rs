//! Sessions: random 256-bit tokens stored hashed, idle and absolute
//! timeouts, a new token on every sign-in, server-side revocation.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ward_proto::account::AccountEventKind;
use ward_proto::auth::SessionCreated;

use crate::access::{self, Attempt};
use crate::error::ApiError;
use crate::extract::{Session, session_cookie_name};
use crate::secrets::{self, now_ms};
use crate::{AppState, history, store};

/// Starts a session for `account_id` (recording the sign-in `attempt` in
/// its access log) and answers with its token (JSON, and the session
/// [`cookie`]).
pub async fn start(
    state: &AppState,
    account_id: &str,
    attempt: &Attempt,
) -> Result<Response, ApiError> {
    let token = secrets::token()?;
    let session_id = secrets::id("ses")?;
    let now = now_ms();
    let absolute = i64::try_from(state.config.session_absolute().as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(absolute);
    let user_agent = attempt.user_agent.as_deref();
    store::sessions::insert(
        &state.db,
        store::sessions::NewSession {
            token_hash: &secrets::hash(&token),
            session_id: &session_id,
            account_id,
            now,
            expires_at,
            user_agent,
        },
    )
    .await?;
    // The log keeps the coarse device and network, never the full agent
    // string or address (the session list shows the agent to its owner).
    let detail = access::sign_in_detail(state, account_id, attempt).await?;
    history::record(
        &state.db,
        account_id,
        AccountEventKind::SignedIn,
        Some(&session_id),
        Some(&detail),
    )
    .await?;
    let max_age = state.config.session_absolute().as_secs();
    let cookie = cookie(state, &token, max_age, attempt.framed);
    let body = SessionCreated {
        account_id: account_id.to_owned(),
        token,
        expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The session behind `token`, if it is live; refreshes its idle timer.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Session, ApiError> {
    let token_hash = secrets::hash(token);
    let now = now_ms();
    let idle = i64::try_from(state.config.session_idle().as_millis()).unwrap_or(i64::MAX);
    let found = store::sessions::find(&state.db, &token_hash)
        .await?
        .ok_or_else(ApiError::not_signed_in)?;
    if now >= found.expires_at || now.saturating_sub(found.last_seen_at) >= idle {
        return Err(ApiError::not_signed_in());
    }
    // Refresh at most once a minute: a busy client does not write per request.
    if now - found.last_seen_at > 60_000 {
        store::sessions::touch(&state.db, &token_hash, now).await?;
    }
    Ok(Session {
        account_id: found.account_id,
        kind: found.kind,
        token_hash,
        session_id: found.session_id,
        created_at: found.created_at,
    })
}

/// Ends a session server-side.
pub async fn revoke(state: &AppState, token_hash: &[u8]) -> Result<(), ApiError> {
    store::sessions::revoke_token(&state.db, token_hash, now_ms()).await?;
    state.session_watch.end(token_hash);
    Ok(())
}

/// Ends `session` because its owner signed out there, and records it.
pub async fn sign_out(state: &AppState, session: &Session) -> Result<(), ApiError> {
    revoke(state, &session.token_hash).await?;
    // The session is over either way: a failure to record it must not keep
    // the cookie and the site data from being cleared.
    let recorded = history::record(
        &state.db,
        &session.account_id,
        AccountEventKind::SignedOut,
        Some(&session.session_id),
        None,
    )
    .await;
    if let Err(error) = recorded {
        tracing::error!(?error, "a sign-out was not recorded in the access log");
    }
    Ok(())
}

/// The header Ward's web client adds to every request it makes from inside
/// another site's frame (docs/embedding.md).
pub const FRAME_HEADER: &str = "ward-frame";

/// Whether a request comes from Ward inside another site's frame.
pub fn framed(headers: &HeaderMap) -> bool {
    headers.get(FRAME_HEADER).is_some_and(|value| value == "1")
}

/// The session cookie's `Set-Cookie` value: `HttpOnly`, `Path=/`, and
/// `SameSite=Strict` for Ward on its own site, named `__Host-ward_session`
/// and `Secure` over HTTPS. Inside another site's frame (`framed`) a
/// `Strict` cookie is never sent, so over HTTPS it is `SameSite=None;
/// Partitioned` instead (CHIPS): kept under the embedding site's key, sent
/// only to Ward's frames on that site, in browsers that block third-party
/// cookies too. Over plain HTTP (development) a framed cookie stays
/// `Strict`, since browsers refuse `SameSite=None` without `Secure`.
/// An empty `token` with `max_age` 0 deletes it (a partitioned cookie is
/// deleted only by a partitioned `Set-Cookie`).
pub fn cookie(state: &AppState, token: &str, max_age: u64, framed: bool) -> String {
    let name = session_cookie_name(state);
    if state.https() {
        let same_site = if framed {
            "None; Partitioned"
        } else {
            "Strict"
        };
        format!("{name}={token}; Path=/; HttpOnly; Secure; SameSite={same_site}; Max-Age={max_age}")
    } else {
        format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
    }
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(state: &AppState, headers: &HeaderMap) -> String {
    cookie(state, "", 0, framed(headers))
}
