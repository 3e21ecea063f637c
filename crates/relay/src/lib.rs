//! Ward's relay: authenticates, authorizes, stores and routes ciphertext.
//!
//! It never holds a key that opens a message. [`app`] builds the whole HTTP
//! surface from an [`AppState`], so tests drive it in-process with
//! `tower::ServiceExt::oneshot` or over a real socket with [`serve`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod db;
pub mod error;
mod routes;
pub mod web;

use std::future::Future;

use axum::Router;
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use error::StartError;
pub use web::StaticSite;

/// Everything a request handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The relay's database.
    pub db: SqlitePool,
    /// The built web client, when this relay serves it.
    pub site: Option<StaticSite>,
}

/// The relay's HTTP surface: API routes, the web client, security headers.
pub fn app(state: AppState) -> Router {
    let site = state.site.clone();
    let api = routes::router().with_state(state);
    web::with_site(api, site.as_ref()).layer(TraceLayer::new_for_http())
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
