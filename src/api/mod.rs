//! Typed calls to the relay. Screens call these; nothing else fetches.

use gloo_net::http::Request;
use ward_proto::{HEALTH_PATH, Health};

/// Why a call to the relay did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request never reached the relay (offline, DNS, connection reset).
    Unreachable,
    /// The relay answered with an unexpected HTTP status.
    Status(u16),
    /// The relay's answer was not what this client version understands.
    UnexpectedBody,
}

/// `GET /healthz`.
pub async fn health() -> Result<Health, ApiError> {
    let response = Request::get(HEALTH_PATH)
        .send()
        .await
        .map_err(|_| ApiError::Unreachable)?;
    if !response.ok() {
        return Err(ApiError::Status(response.status()));
    }
    response
        .json::<Health>()
        .await
        .map_err(|_| ApiError::UnexpectedBody)
}
