//! `GET /metrics`, for a Prometheus scraper on the same machine.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ward_proto::ErrorCode;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{client_ip, peer, says_forwarded};

/// Only from loopback: operational numbers are not for the internet. The
/// client is the TCP peer, or the real client behind a trusted proxy;
/// a forwarded request from a peer that is not a trusted proxy (a proxy on
/// this machine that nobody configured) is refused, whatever it says.
pub async fn get(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    let local = match peer(&parts) {
        // In-process (tests): no connection at all.
        None => true,
        Some(peer) => {
            let trusted = state.config.trusts_proxy(peer);
            (trusted || !says_forwarded(&parts.headers))
                && client_ip(&state.config, peer, &parts.headers).is_loopback()
        }
    };
    if !local {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NoSuchRoute,
            "There is no such API endpoint.",
        ));
    }
    let messages = crate::store::envelopes::count(&state.db).await?;
    let body = state.metrics.render(state.events.local(), messages);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
