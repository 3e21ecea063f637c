//! Typed calls to the relay. Screens and the session service call these;
//! nothing else fetches. Every failure becomes an [`ApiError`] whose
//! [`message`](ApiError::message) a patient can read.

pub(crate) mod account;
pub(crate) mod caregivers;
pub(crate) mod events;
pub(crate) mod push;
pub(crate) mod sign_in;
pub(crate) mod threads;
pub(crate) mod uploads;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ward_proto::{ErrorBody, ErrorCode, HEALTH_PATH, Health};
use zeroize::Zeroizing;

use crate::i18n::{Plural, Text, count, t};

/// A session's bearer token. Held in memory only (never storage, never a
/// URL); `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// Wraps a token the relay returned.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    /// The token itself, for the event stream's first frame.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    fn header(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.0.as_str()))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// Why a call to the relay did not give the answer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request never reached the relay (offline, DNS, connection reset).
    Unreachable,
    /// The relay refused, with its reason.
    Refused {
        /// HTTP status.
        status: u16,
        /// The relay's stable error code ([`ErrorCode::Unknown`] for one
        /// this version does not know, or an answer that was not Ward's
        /// error shape).
        code: ErrorCode,
        /// The relay's message for a person.
        message: String,
        /// For `locked_out`: when to try again.
        retry_after_seconds: Option<u64>,
    },
    /// The relay's answer was not what this client version understands.
    UnexpectedBody,
}

impl ApiError {
    /// What the patient reads, with what to do next, in the language shown.
    /// A refusal is told by its code in Ward's own words, in English as in
    /// Spanish (so both say the same); the relay's English message is only
    /// the fallback, for a code this version does not know.
    pub fn message(&self) -> String {
        match self {
            Self::Unreachable => t(Text::ErrorUnreachable).into(),
            Self::Refused {
                code,
                message,
                retry_after_seconds,
                status,
            } => match (refusal_wait(*code), refusal_text(*code)) {
                // How long: the relay's Retry-After, in whole minutes.
                (Some(wait), _) => {
                    let minutes = retry_after_seconds.unwrap_or(60).div_ceil(60).max(1);
                    count(wait, minutes, &[])
                }
                (None, Some(text)) => t(text).into(),
                (None, None) if !message.is_empty() => message.clone(),
                (None, None) if *status >= 500 => t(Text::ErrorServer).into(),
                (None, None) => t(Text::ErrorNotUnderstood).into(),
            },
            Self::UnexpectedBody => t(Text::ErrorNotUnderstood).into(),
        }
    }

    /// The relay's error code, if it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// For a refusal that only says "not now", how long to wait before
    /// trying again: the relay restarting or unable to reach its storage
    /// (503), at capacity (503), out of disk (507), or a proxy in front of
    /// it without an answer (502, 504). Nothing was changed, so the same
    /// request can simply go again. The relay's `Retry-After` is followed,
    /// within a second and five minutes; a proxy's bare 5xx waits 5 s.
    pub fn retry_later(&self) -> Option<std::time::Duration> {
        match self {
            Self::Refused {
                status: 502..=504 | 507,
                retry_after_seconds,
                ..
            } => Some(std::time::Duration::from_secs(
                retry_after_seconds.unwrap_or(5).clamp(1, 300),
            )),
            _ => None,
        }
    }

    /// Whether the session is gone (expired, signed out elsewhere).
    pub fn is_signed_out(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                status: 401,
                code: ErrorCode::NotSignedIn,
                ..
            }
        )
    }
}

/// Ward's words for a refusal that says how many minutes to wait.
fn refusal_wait(code: ErrorCode) -> Option<Plural> {
    match code {
        ErrorCode::LockedOut => Some(Plural::RelayLockedOut),
        ErrorCode::TooManyCodes => Some(Plural::RelayTooManyCodes),
        _ => None,
    }
}

/// Ward's own words for a relay refusal a person can meet; `None` for a
/// code the relay sends only to a client with a bug (the generic texts).
fn refusal_text(code: ErrorCode) -> Option<Text> {
    use ErrorCode as C;
    Some(match code {
        C::CodeNotValid => Text::RelayCodeNotValid,
        C::TotpNotValid => Text::RelayTotpNotValid,
        C::InviteNotValid => Text::RelayInviteNotValid,
        C::InviteUsed => Text::RelayInviteUsed,
        C::CodeNotSent => Text::RelayCodeNotSent,
        C::CannotSendCode => Text::RelayCannotSendCode,
        C::NoSecondFactor => Text::RelayNoSecondFactor,
        C::StepUpRequired => Text::RelayStepUpRequired,
        C::AccessEnded => Text::RelayAccessEnded,
        C::ReadOnlyCaregiver => Text::RelayReadOnlyCaregiver,
        C::OnlyMeThread => Text::RelayOnlyMeThread,
        C::NotYourCaregiver => Text::RelayNotYourCaregiver,
        C::ConsentWithdrawn => Text::RelayConsentWithdrawn,
        C::ConsentChanged => Text::RelayConsentChanged,
        C::NotFound => Text::RelayNotFound,
        C::TooLarge | C::PartTooLarge => Text::RelayTooLarge,
        C::QuotaExceeded => Text::RelayQuotaExceeded,
        C::TooManyUploads => Text::RelayTooManyUploads,
        C::TooManyThreads => Text::RelayTooManyThreads,
        C::TooManyInvites => Text::RelayTooManyInvites,
        C::LastPasskey => Text::RelayLastPasskey,
        C::PasskeyExists => Text::RelayPasskeyExists,
        C::PasskeyFailed => Text::RelayPasskeyFailed,
        C::TotpEnabled => Text::RelayTotpEnabled,
        C::NoPendingTotp => Text::RelayNoPendingTotp,
        C::NoPushSubscription => Text::RelayNoPushSubscription,
        C::TooManyTestPushes => Text::RelayTooManyTestPushes,
        C::SeesAllThreads => Text::RelaySeesAllThreads,
        C::InvalidContact => Text::RelayInvalidContact,
        C::InvalidDisplayName => Text::RelayInvalidDisplayName,
        C::Forbidden => Text::RelayForbidden,
        C::OverCapacity | C::StorageUnavailable | C::StorageFull => Text::RelayBusy,
        C::NotSignedIn => Text::LockReasonSessionEnded,
        C::Internal => Text::ErrorServer,
        C::Unknown => return None,
        _ => Text::RelayRefused,
    })
}

/// `value` escaped for a URL: a path segment, a query value, a fragment.
/// Ids are the relay's own (URL-safe), but they are escaped anyway.
pub(crate) fn url_encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
}

/// Adds the session's token, and `Ward-Frame: 1` inside another site's
/// frame (the relay partitions the session cookie then).
fn with_token(builder: RequestBuilder, token: Option<&SessionToken>) -> RequestBuilder {
    let builder = if crate::embed::framed() {
        builder.header("Ward-Frame", "1")
    } else {
        builder
    };
    match token {
        Some(token) => builder.header("Authorization", &token.header()),
        None => builder,
    }
}

async fn refused(response: Response) -> ApiError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => ApiError::Refused {
            status,
            code: body.error.code,
            message: body.error.message,
            retry_after_seconds: body.error.retry_after_seconds,
        },
        Err(_) => ApiError::Refused {
            status,
            code: ErrorCode::Unknown,
            message: String::new(),
            retry_after_seconds: None,
        },
    }
}

async fn send(request: Result<Request, gloo_net::Error>) -> Result<Response, ApiError> {
    let request = request.map_err(|_| ApiError::UnexpectedBody)?;
    let response = request.send().await.map_err(|_| ApiError::Unreachable)?;
    if response.ok() {
        Ok(response)
    } else {
        Err(refused(response).await)
    }
}

// The typed calls below are thin: each serializes its body and parses its
// answer, and everything between (building, sending, reading the answer)
// is one non-generic function they all share, so the wasm holds one copy
// of it instead of one per request and answer type (docs/benchmarks.md).

/// `method path` with an optional JSON body.
fn request(
    method: gloo_net::http::Method,
    path: &str,
    token: Option<&SessionToken>,
    json: Option<String>,
) -> Result<Request, gloo_net::Error> {
    let builder = with_token(RequestBuilder::new(path).method(method), token);
    match json {
        Some(json) => builder
            .header("Content-Type", "application/json")
            .body(json),
        None => builder.build(),
    }
}

/// `method path` with an optional JSON body; the answer's text.
async fn fetch_text(
    method: gloo_net::http::Method,
    path: &str,
    token: Option<&SessionToken>,
    json: Option<String>,
) -> Result<String, ApiError> {
    send(request(method, path, token, json))
        .await?
        .text()
        .await
        .map_err(|_| ApiError::UnexpectedBody)
}

fn to_json<B: Serialize + ?Sized>(body: &B) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|_| ApiError::UnexpectedBody)
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|_| ApiError::UnexpectedBody)
}

/// `path?lang=` the language shown: a text the relay has in it.
fn in_language(path: &str) -> String {
    [path, "?lang=", crate::i18n::lang_untracked().tag()].concat()
}

/// `GET path`, answered with JSON.
async fn get<T: DeserializeOwned>(path: &str, token: Option<&SessionToken>) -> Result<T, ApiError> {
    parse(&fetch_text(gloo_net::http::Method::GET, path, token, None).await?)
}

/// `method path` with a JSON body, answered with JSON.
async fn call<B: Serialize, T: DeserializeOwned>(
    method: gloo_net::http::Method,
    path: &str,
    token: Option<&SessionToken>,
    body: &B,
) -> Result<T, ApiError> {
    let json = to_json(body)?;
    parse(&fetch_text(method, path, token, Some(json)).await?)
}

/// `method path` with an optional JSON body, answered with no content.
async fn call_empty<B: Serialize>(
    method: gloo_net::http::Method,
    path: &str,
    token: Option<&SessionToken>,
    body: Option<&B>,
) -> Result<(), ApiError> {
    let json = body.map(to_json).transpose()?;
    send(request(method, path, token, json)).await.map(|_| ())
}

/// `PUT path` with raw bytes, answered with no content.
async fn put_bytes(path: &str, token: &SessionToken, bytes: &[u8]) -> Result<(), ApiError> {
    let body = js_sys::Uint8Array::from(bytes);
    let request = with_token(
        RequestBuilder::new(path).method(gloo_net::http::Method::PUT),
        Some(token),
    )
    .header("Content-Type", "application/octet-stream")
    .body(body);
    send(request).await.map(|_| ())
}

/// `GET path`, answered with raw bytes.
async fn get_bytes(path: &str, token: &SessionToken) -> Result<Vec<u8>, ApiError> {
    let request = with_token(Request::get(path), Some(token)).build();
    send(request)
        .await?
        .binary()
        .await
        .map_err(|_| ApiError::Unreachable)
}

/// `GET /healthz`.
pub(crate) async fn health() -> Result<Health, ApiError> {
    get(HEALTH_PATH, None).await
}

/// `GET /v1/embed`: the sites that may embed Ward.
pub(crate) async fn embed_info() -> Result<ward_proto::embed::EmbedInfo, ApiError> {
    get("/v1/embed", None).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, show_in_test};

    fn refused(code: ErrorCode, message: &str) -> ApiError {
        ApiError::Refused {
            status: 400,
            code,
            message: message.into(),
            retry_after_seconds: Some(125),
        }
    }

    #[test]
    fn a_refusal_reads_in_wards_own_words_in_the_language_shown() {
        show_in_test(Lang::En);
        let relay_said = "Too many wrong attempts. For your security, try again in 3 minutes.";
        assert_eq!(
            refused(ErrorCode::LockedOut, "Different words from the relay.").message(),
            relay_said,
            "Ward's own words in English too"
        );
        assert_eq!(
            refused(ErrorCode::LockedOut, "").message(),
            "Too many wrong attempts. For your security, try again in 3 minutes."
        );
        let in_a_minute = ApiError::Refused {
            status: 429,
            code: ErrorCode::TooManyCodes,
            message: String::new(),
            retry_after_seconds: Some(40),
        };
        assert_eq!(
            in_a_minute.message(),
            "Too many codes were sent. Wait 1 minute, or sign in with your passkey."
        );
        show_in_test(Lang::Es);
        assert_eq!(
            in_a_minute.message(),
            "Se enviaron demasiados códigos. Espere 1 minuto o inicie sesión con su llave de acceso."
        );
        assert_eq!(
            refused(ErrorCode::LockedOut, relay_said).message(),
            "Demasiados intentos fallidos. Por su seguridad, vuelva a intentarlo dentro de 3 minutos."
        );
        assert_eq!(
            refused(
                ErrorCode::MalformedJson,
                "The request body is not valid JSON."
            )
            .message(),
            t(Text::RelayRefused),
            "a client bug's refusal: the generic text, not the relay's English"
        );
        assert_eq!(
            refused(ErrorCode::Unknown, "Something new.").message(),
            "Something new.",
            "a code this version does not know: the relay's words are the fallback"
        );
        assert!(
            ApiError::Unreachable
                .message()
                .starts_with("Ward no puede conectarse")
        );
        show_in_test(Lang::En);
    }
}
