//! Web Push for this session's device (docs/push.md). The answers are
//! read with the browser's JSON, and the subscription is sent as the
//! browser wrote it (`PushSubscription.toJSON()`): no serde code for three
//! small shapes.

use gloo_net::http::Method;
use wasm_bindgen::JsValue;

use super::{ApiError, SessionToken, fetch_text, request, send};

/// A field of a JSON answer.
fn field(text: &str, name: &str) -> Result<JsValue, ApiError> {
    let value = js_sys::JSON::parse(text).map_err(|_| ApiError::UnexpectedBody)?;
    js_sys::Reflect::get(&value, &name.into()).map_err(|_| ApiError::UnexpectedBody)
}

/// `GET /v1/push/key`: the relay's VAPID public key (base64url).
pub(crate) async fn key() -> Result<String, ApiError> {
    let text = fetch_text(Method::GET, "/v1/push/key", None, None).await?;
    field(&text, "public_key")?
        .as_string()
        .ok_or(ApiError::UnexpectedBody)
}

/// `GET /v1/push/subscription`: whether the relay holds one for this device.
pub(crate) async fn subscribed(token: &SessionToken) -> Result<bool, ApiError> {
    let text = fetch_text(Method::GET, "/v1/push/subscription", Some(token), None).await?;
    field(&text, "subscribed")?
        .as_bool()
        .ok_or(ApiError::UnexpectedBody)
}

/// `PUT /v1/push/subscription` with the browser's subscription, as JSON.
pub(crate) async fn subscribe(token: &SessionToken, subscription: String) -> Result<(), ApiError> {
    send(request(
        Method::PUT,
        "/v1/push/subscription",
        Some(token),
        Some(subscription),
    ))
    .await
    .map(|_| ())
}

/// `DELETE /v1/push/subscription`.
pub(crate) async fn unsubscribe(token: &SessionToken) -> Result<(), ApiError> {
    send(request(
        Method::DELETE,
        "/v1/push/subscription",
        Some(token),
        None,
    ))
    .await
    .map(|_| ())
}

/// `POST /v1/push/test`: a test notification to this device.
pub(crate) async fn test(token: &SessionToken) -> Result<(), ApiError> {
    send(request(Method::POST, "/v1/push/test", Some(token), None))
        .await
        .map(|_| ())
}
