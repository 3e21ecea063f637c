//! The relay's API routes, one module per resource.

mod health;

use axum::Router;
use axum::routing::get;
use ward_proto::HEALTH_PATH;

use crate::AppState;

/// Every API route; the web client is mounted beside these by `web`.
pub fn router() -> Router<AppState> {
    Router::new().route(HEALTH_PATH, get(health::get))
}
