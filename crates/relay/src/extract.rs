//! Request extractors: JSON bodies with specific errors, the signed-in
//! session, the client's address.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;
use crate::sessions;

/// A JSON body whose every failure is a specific 4xx in the one error shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong_content_type",
            "Send the request body as JSON, with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("malformed_json", "The request body is not valid JSON.")
        }
        JsonRejection::JsonDataError(error) => {
            // serde's message can quote the offending value; keep only the
            // field path, which never holds user data.
            let text = error.body_text();
            let path = text
                .split(": ")
                .nth(1)
                .filter(|p| !p.contains(' ') && !p.is_empty() && *p != ".")
                .map(str::to_owned);
            let detail = if text.contains("unknown field") {
                let field = text.split('`').nth(1).unwrap_or("?");
                format!("The field `{field}` is not part of this request; remove it.")
            } else if text.contains("missing field") {
                let field = text.split('`').nth(1).unwrap_or("?");
                format!("The field `{field}` is required.")
            } else {
                format!(
                    "The field `{}` has the wrong type or an invalid value.",
                    path.unwrap_or_else(|| "?".into())
                )
            };
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail)
        }
        JsonRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "The request body is too large. Send less data (messages are limited to about 600 KB).",
        ),
        _ => ApiError::bad_request("bad_body", "The request body could not be read."),
    }
}

/// The signed-in caller, from `Authorization: Bearer` or the session
/// cookie. Every route that takes this is authenticated.
#[derive(Debug, Clone)]
pub struct Session {
    /// The caller's account.
    pub account_id: String,
    /// `patient`, `clinic` or `caregiver`.
    pub kind: String,
    /// The hash of the presented token (to revoke it on logout).
    pub token_hash: Vec<u8>,
    /// The session's id (as `GET /v1/sessions` lists it; recorded in the
    /// account's history for the changes it makes).
    pub session_id: String,
    /// When this session signed in (Unix milliseconds).
    pub created_at: i64,
}

/// Sensitive changes need a sign-in this recent: every change to what
/// others encrypt to (the key bundle) or to how the account signs in or
/// unlocks its keys (vault, passkeys, TOTP). Sign in again to step up.
pub const STEP_UP_MS: i64 = 5 * 60_000;

impl Session {
    /// Whether the session signed in within [`STEP_UP_MS`].
    pub fn signed_in_recently(&self) -> bool {
        crate::secrets::now_ms() - self.created_at <= STEP_UP_MS
    }

    /// Refuses unless the session signed in within [`STEP_UP_MS`].
    pub fn require_recent_sign_in(&self) -> Result<(), ApiError> {
        if !self.signed_in_recently() {
            return Err(step_up_required());
        }
        Ok(())
    }
}

/// 403 `step_up_required`: sign in again, then retry.
pub fn step_up_required() -> ApiError {
    ApiError::forbidden_code(
        "step_up_required",
        "For your security, sign in again before making this change.",
    )
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ward_session";

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .or_else(|| cookie(parts))
            .ok_or_else(ApiError::not_signed_in)?;
        sessions::authenticate(state, &token).await
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

fn cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The client's IP address (for per-address lockout), or `unknown` when
/// the relay runs without connection info (in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "unknown".to_owned(),
                    |ConnectInfo(addr)| addr.ip().to_string(),
                ),
        ))
    }
}
