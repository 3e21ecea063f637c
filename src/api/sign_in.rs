//! Enrollment, passkey and one-time-code sign-in, sign-out.

use gloo_net::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, EnrollCodeRequest, EnrollStartRequest,
    EnrollStarted, EnrollVerifyRequest, SessionCreated,
};
use ward_proto::passkeys::{PasskeyInfo, StartAuthentication};

use super::{ApiError, SessionToken, call, call_empty};

// The passkey ceremonies' bodies as this client reads and writes them: the
// same JSON as `ward_proto::passkeys`, with the WebAuthn parts left as the
// relay's JSON. The browser bridge (`auth::webauthn`) works on that JSON as
// it is; typed `webauthn-rs-proto` options and credentials (parsed, then
// written out again for the browser) cost the wasm 32 KB gzip
// (docs/benchmarks.md).

/// `ward_proto::passkeys::RegistrationStarted`, with the options as sent.
#[derive(Debug, Deserialize)]
pub(crate) struct RegistrationStarted {
    /// Names this ceremony in the finish call.
    pub ceremony_id: String,
    /// `CreationChallengeResponse` (`{"publicKey": ...}`), as the relay sent it.
    pub options: Box<RawValue>,
}

/// `ward_proto::passkeys::AuthenticationStarted`, with the options as sent.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthenticationStarted {
    /// Names this ceremony in the finish call.
    pub ceremony_id: String,
    /// `RequestChallengeResponse` (`{"publicKey": ..., "mediation": ...}`),
    /// as the relay sent it.
    pub options: Box<RawValue>,
}

/// `ward_proto::passkeys::FinishRegistration`.
#[derive(Serialize)]
struct FinishRegistration {
    ceremony_id: String,
    credential: serde_json::Value,
    label: String,
}

/// `ward_proto::passkeys::FinishAuthentication`.
#[derive(Serialize)]
struct FinishAuthentication {
    ceremony_id: String,
    credential: serde_json::Value,
}

/// `POST /v1/enroll/start`: whose invite it is (nothing is sent yet).
pub(crate) async fn enroll_start(invite_code: &str) -> Result<EnrollStarted, ApiError> {
    let body = EnrollStartRequest {
        invite_code: invite_code.to_owned(),
    };
    call(Method::POST, "/v1/enroll/start", None, &body).await
}

/// `POST /v1/enroll/code`: the patient said the invite is theirs; a code
/// goes to the contact on it (a new one replaces the last).
pub(crate) async fn enroll_send_code(enrollment_id: &str) -> Result<(), ApiError> {
    let body = EnrollCodeRequest {
        enrollment_id: enrollment_id.to_owned(),
    };
    call_empty(Method::POST, "/v1/enroll/code", None, Some(&body)).await
}

/// `POST /v1/enroll/verify`: the code; the account exists afterwards.
pub(crate) async fn enroll_verify(
    enrollment_id: &str,
    code: &str,
) -> Result<SessionCreated, ApiError> {
    let body = EnrollVerifyRequest {
        enrollment_id: enrollment_id.to_owned(),
        code: code.to_owned(),
    };
    call(Method::POST, "/v1/enroll/verify", None, &body).await
}

/// `POST /v1/passkeys/register/start` (needs a sign-in under 5 minutes old).
pub(crate) async fn register_start(token: &SessionToken) -> Result<RegistrationStarted, ApiError> {
    call(
        Method::POST,
        "/v1/passkeys/register/start",
        Some(token),
        &serde_json::json!({}),
    )
    .await
}

/// `POST /v1/passkeys/register/finish`.
pub(crate) async fn register_finish(
    token: &SessionToken,
    ceremony_id: String,
    credential: serde_json::Value,
    label: String,
) -> Result<PasskeyInfo, ApiError> {
    let body = FinishRegistration {
        ceremony_id,
        credential,
        label,
    };
    call(
        Method::POST,
        "/v1/passkeys/register/finish",
        Some(token),
        &body,
    )
    .await
}

/// `POST /v1/auth/passkey/start`: without an account, for a discoverable
/// credential (no username); with one, limited to its passkeys (step-up).
pub(crate) async fn passkey_start(
    account_id: Option<&str>,
) -> Result<AuthenticationStarted, ApiError> {
    let body = StartAuthentication {
        account_id: account_id.map(str::to_owned),
    };
    call(Method::POST, "/v1/auth/passkey/start", None, &body).await
}

/// `POST /v1/auth/passkey/finish`: a new session.
pub(crate) async fn passkey_finish(
    ceremony_id: String,
    credential: serde_json::Value,
) -> Result<SessionCreated, ApiError> {
    let body = FinishAuthentication {
        ceremony_id,
        credential,
    };
    call(Method::POST, "/v1/auth/passkey/finish", None, &body).await
}

/// `POST /v1/auth/code/start`: the fallback sign-in's first factor.
pub(crate) async fn code_start(contact: &str) -> Result<CodeLoginStarted, ApiError> {
    let body = CodeLoginStart {
        contact: contact.to_owned(),
    };
    call(Method::POST, "/v1/auth/code/start", None, &body).await
}

/// `POST /v1/auth/code/verify`: the sent code and the authenticator app's.
pub(crate) async fn code_verify(
    login_id: &str,
    code: &str,
    totp: &str,
) -> Result<SessionCreated, ApiError> {
    let body = CodeLoginVerify {
        login_id: login_id.to_owned(),
        code: code.to_owned(),
        totp: totp.to_owned(),
    };
    call(Method::POST, "/v1/auth/code/verify", None, &body).await
}

/// `POST /v1/auth/logout`: ends the session; the relay answers with
/// `Clear-Site-Data`, so the browser drops this origin's storage too.
/// Without a token, the session cookie names the session.
pub(crate) async fn logout(token: Option<&SessionToken>) -> Result<(), ApiError> {
    call_empty::<()>(Method::POST, "/v1/auth/logout", token, None).await
}
