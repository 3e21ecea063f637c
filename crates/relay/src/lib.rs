//! Ward's relay: authenticates, authorizes, stores and routes ciphertext.
//!
//! It never holds a key that opens a message. [`app`] builds the whole HTTP
//! surface from an [`AppState`], so tests drive it in-process with
//! `tower::ServiceExt::oneshot` or over a real socket with [`serve`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod archive;
pub mod background;
pub mod blobs;
pub mod bounds;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanout;
pub mod files;
pub mod grants;
pub mod history;
mod lockout;
pub mod metrics;
pub mod minors;
pub mod passkeys;
pub mod push;
pub mod relay_secret;
pub mod retention;
mod routes;
pub mod secrets;
pub mod sender;
pub mod server;
pub mod session_watch;
mod sessions;
pub mod setup;
pub mod store;
pub mod sweep;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::{ApiError, StartError};
pub use web::StaticSite;

/// Everything a request handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The relay's database.
    pub db: AnyPool,
    /// The built web client, when this relay serves it.
    pub site: Option<StaticSite>,
    /// The configuration it started with.
    pub config: Arc<Config>,
    /// Where one-time codes go.
    pub sender: Arc<dyn sender::CodeSender>,
    /// Request counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Live events to connected clients.
    pub events: events::Hub,
    /// Passkey ceremonies for the configured origin.
    pub webauthn: Arc<webauthn_rs::Webauthn>,
    /// Whether the relay itself terminates TLS (cookies get `Secure`, HSTS is sent).
    pub tls: bool,
    /// Where attachment ciphertext is stored.
    pub blobs: blobs::BlobStore,
    /// The keys derived from the relay's secret (TOTP seeds, code hashes).
    pub secret: Arc<relay_secret::RelaySecret>,
    /// The time caregiver grants are judged by (tests move it forward).
    pub clock: clock::Clock,
    /// On SQLite, the thread that stores messages ([`store::sends`]).
    pub send_writer: Option<store::sends::writer::Writer>,
    /// The sessions of the open WebSockets, checked together.
    pub session_watch: session_watch::SessionWatch,
    /// Web Push: the VAPID key and the queue to the push worker.
    pub push: push::Push,
}

impl AppState {
    /// A relay with `config`: its database and secret key file in the data
    /// directory (created 0700, files 0600), codes sent by SMTP (or, in
    /// development mode only, written to the outbox file), the static site
    /// from the configuration (if any). Without SMTP and outside development
    /// mode it refuses to start.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        if config.smtp.is_none() && !config.dev {
            return Err(StartError::NoCodeSender);
        }
        let site = config
            .static_dir
            .as_deref()
            .map(StaticSite::load)
            .transpose()?;
        let db = db::open(&config).await?;
        let (secret, secret_file) = relay_secret::RelaySecret::load_or_create(
            config.secret_key_file.as_deref(),
            &config.data,
        )?;
        secret.bind_database(&db, &secret_file).await?;
        let vapid = push::VapidKey::load_or_create(config.vapid_key_file.as_deref(), &config.data)
            .map_err(StartError::Push)?;
        setup::ensure_setup_code(&db, &config.data).await?;
        let send_writer =
            store::sends::writer_for(&db, &config.data).map_err(|source| StartError::Database {
                what: "the send writer".into(),
                source,
            })?;
        let sender: Arc<dyn sender::CodeSender> = match &config.smtp {
            Some(smtp) => Arc::new(sender::SmtpSender::new(smtp).map_err(StartError::Sender)?),
            None => {
                tracing::warn!(
                    outbox = %config.data.join(sender::DEV_OUTBOX_FILE).display(),
                    "DEVELOPMENT MODE: one-time codes are written to the outbox file, not sent"
                );
                Arc::new(sender::DevFileSink::new(
                    config.data.join(sender::DEV_OUTBOX_FILE),
                ))
            }
        };
        let webauthn = Arc::new(passkeys::webauthn(&config.public_origin)?);
        let tls = config.tls_cert.is_some();
        let blobs = blobs::BlobStore::open(&config)?;
        // Relays sharing PostgreSQL tell each other of live events.
        let events = match &config.database_url {
            Some(url) => {
                let local = Arc::new(events::LocalIndex::default());
                let fanout = fanout::PostgresFanout::start(url, db.clone(), local.clone())
                    .await
                    .map_err(|source| StartError::Database {
                        what: format!("{} (listening for live events)", url.redacted()),
                        source,
                    })?;
                events::Hub::with_fanout(local, fanout)
            }
            None => events::Hub::default(),
        };
        Ok(Self {
            db,
            site,
            config: Arc::new(config),
            sender,
            webauthn,
            events,
            metrics: metrics::Metrics::default(),
            tls,
            blobs,
            secret: Arc::new(secret),
            clock: clock::Clock::default(),
            send_writer,
            session_watch: session_watch::SessionWatch::default(),
            push: push::Push::new(vapid),
        })
    }
}

impl AppState {
    /// Whether browsers reach this relay over HTTPS: it terminates TLS
    /// itself, or its public origin is `https://` (a TLS proxy in front).
    /// Then the session cookie is `__Host-ward_session` and `Secure`, and
    /// HSTS is sent.
    pub fn https(&self) -> bool {
        self.tls || self.config.public_origin.starts_with("https://")
    }
}

/// The relay's HTTP surface: API routes, the web client, security headers.
/// The background work ([`serve`] starts it) is not part of it: without
/// [`background::start`], a live connection whose session times out or
/// is signed out through another relay stays open.
pub fn app(state: AppState) -> Router {
    let site = state.site.clone();
    let headers = web::Headers {
        frame_ancestors: state.config.frame_ancestors.clone(),
        tls: state.https(),
    };
    let api = routes::router()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state);
    web::with_site(api, site.as_ref(), &headers).layer(TraceLayer::new_for_http())
}

/// The OpenAPI document, as served at `/v1/openapi.json`.
pub fn openapi_json() -> String {
    routes::openapi_json()
}

/// Serves [`app`] over HTTPS (rustls) on `listener` with the PEM `cert`
/// chain and `key`, until `shutdown` resolves, like [`serve`]: the same
/// connection limits and background work ([`background::start`]).
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    cert: &std::path::Path,
    key: &std::path::Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config.get_inner());
    let _background = background::start(&state);
    let limits = server::Limits::from_config(&state.config);
    let metrics = state.metrics.clone();
    server::run(
        listener,
        app(state),
        limits,
        &metrics,
        Some(acceptor),
        shutdown,
    )
    .await
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then finishes the
/// requests in flight. Connections are capped and timed out as configured
/// ([`server`]); the background work runs beside it ([`background::start`]:
/// the sweeps, the grant watch, the live connections' session check).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _background = background::start(&state);
    let limits = server::Limits::from_config(&state.config);
    let metrics = state.metrics.clone();
    server::run(listener, app(state), limits, &metrics, None, shutdown).await
}
