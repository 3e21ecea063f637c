//! Request extractors: JSON bodies with specific errors, the signed-in
//! session, the client's address, the patient's language.

use std::net::{IpAddr, SocketAddr};
use ward_proto::ErrorCode;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::config::Config;
use crate::error::ApiError;
use crate::sessions;

/// `?lang=es`: the language a patient reads, for the texts the relay has in
/// it (`GET /v1/clinic`, the consent texts). Any other parameter is 400
/// `invalid_query`.
#[derive(Debug)]
pub struct Lang(pub Option<String>);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LangParams {
    lang: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<LangParams>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(params)) => Ok(Self(params.lang)),
            Err(_) => Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "Use ?lang=<a language tag such as es>, and nothing else.",
            )),
        }
    }
}

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
            ErrorCode::WrongContentType,
            "Send the request body as JSON, with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request(
            ErrorCode::MalformedJson,
            "The request body is not valid JSON.",
        ),
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
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidField,
                detail,
            )
        }
        JsonRejection::BytesRejection(rejection) if crate::server::is_body_timeout(rejection) => {
            ApiError::body_timeout()
        }
        JsonRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            "The request body is too large. Send less data (messages are limited to about 600 KB).",
        ),
        _ => ApiError::bad_request(ErrorCode::BadBody, "The request body could not be read."),
    }
}

/// The signed-in caller, from `Authorization: Bearer` or the session
/// cookie. Every route that takes this is authenticated. With the cookie
/// alone, a request that changes anything (not GET, HEAD or OPTIONS) must
/// come from the relay's public origin (`Origin`, and `Sec-Fetch-Site` when
/// sent); bearer requests are not checked (a page elsewhere cannot have
/// the token).
#[derive(Debug, Clone)]
pub struct Session {
    /// The caller's account.
    pub account_id: String,
    /// What the account is (`accounts.kind`).
    pub kind: ward_proto::threads::Role,
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
        ErrorCode::StepUpRequired,
        "For your security, sign in again before making this change.",
    )
}

/// The session cookie's name over plain HTTP (development on localhost).
pub const SESSION_COOKIE: &str = "ward_session";

/// The session cookie's name when browsers reach the relay over HTTPS: the
/// `__Host-` prefix makes browsers refuse it unless it is `Secure`, has
/// `Path=/` and no `Domain`, so no other host of the site can set or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-ward_session";

/// The session cookie's name for this relay ([`AppState::https`]).
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.https() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            return sessions::authenticate(state, &token).await;
        }
        let token =
            cookie(parts, session_cookie_name(state)).ok_or_else(ApiError::not_signed_in)?;
        // A browser attaches the cookie to requests other pages of the same
        // site start, too: a change made with the cookie alone must come
        // from Ward's own origin. Any request, even a read, that the
        // browser says another page started is refused: a frame's
        // `SameSite=None` cookie (sessions::cookie) goes with every request
        // to Ward made under the embedding site, its page's own included.
        if !parts.method.is_safe() {
            same_origin(parts, state)?;
        } else if !fetched_by_ward(parts) {
            return Err(cross_origin(state));
        }
        sessions::authenticate(state, &token).await
    }
}

/// Refuses a request unless its `Origin` is exactly the relay's public
/// origin and its `Sec-Fetch-Site`, when the browser sends one, is
/// `same-origin`.
fn same_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let ours = state.config.public_origin_header();
    let mut origins = parts.headers.get_all(header::ORIGIN).iter();
    let origin_ok = match (origins.next(), origins.next()) {
        (Some(origin), None) => origin.to_str().ok() == Some(ours.as_str()),
        _ => false,
    };
    if origin_ok && fetched_by_ward(parts) {
        return Ok(());
    }
    Err(cross_origin(state))
}

/// Whether `Sec-Fetch-Site`, when the browser sends one, says Ward's own
/// origin started the request.
fn fetched_by_ward(parts: &Parts) -> bool {
    parts
        .headers
        .get_all("sec-fetch-site")
        .iter()
        .all(|site| site.as_bytes() == b"same-origin")
}

fn cross_origin(state: &AppState) -> ApiError {
    let ours = state.config.public_origin_header();
    ApiError::forbidden_code(
        ErrorCode::CrossOriginRequest,
        format!(
            "This request did not come from Ward's own pages, so it was refused. Open Ward at {ours} and try again."
        ),
    )
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// The client's IP address (for per-address limits), or `unknown` when the
/// relay runs without connection info (in-process tests).
///
/// The TCP peer, unless the peer is one of the configured
/// `trusted_proxies`: then the right-most address in `X-Forwarded-For` that
/// is not itself a trusted proxy (each proxy appends the address it heard
/// from, so that is the last one no trusted hop could have made up). A
/// forwarded header from any other peer is ignored.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(peer(parts).map_or_else(
            || "unknown".to_owned(),
            |peer| client_ip(&state.config, peer, &parts.headers).to_string(),
        )))
    }
}

/// The TCP peer's address, when the relay serves with connection info.
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The headers a proxy may use to say whom it forwards for.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Whether the request says it was forwarded (any forwarding header).
pub fn says_forwarded(headers: &HeaderMap) -> bool {
    FORWARDING_HEADERS
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// The client's address for a request from `peer`: see [`ClientAddr`].
pub fn client_ip(config: &Config, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !config.trusts_proxy(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect();
    let mut leftmost = None;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if config.trusts_proxy(*ip) => leftmost = Some(*ip),
            Some(ip) => return *ip,
            // Something a trusted proxy would not write: use what is known.
            None => return leftmost.unwrap_or(peer),
        }
    }
    leftmost.unwrap_or(peer)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}
