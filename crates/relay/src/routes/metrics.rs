//! `GET /metrics`, for a Prometheus scraper on the same machine.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ClientAddr;

/// Only from loopback: operational numbers are not for the internet.
pub async fn get(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
) -> Result<Response, ApiError> {
    let local = addr == "unknown"
        || addr
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_route",
            "There is no such API endpoint.",
        ));
    }
    let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM envelopes")
        .fetch_one(&state.db)
        .await?;
    let body = state.metrics.render(state.events.connections(), messages);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
