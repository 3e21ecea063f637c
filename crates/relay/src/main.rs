//! `ward-relay`: run the relay.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use ward_relay::{AppState, Config};

#[derive(Debug, Parser)]
#[command(
    name = "ward-relay",
    version,
    about = "Ward's end-to-end encrypted message relay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (and the built web client) over HTTP.
    ///
    /// Settings come from defaults, then the --config file, then these
    /// flags or their environment variables.
    Serve {
        /// A TOML configuration file (keys: listen, data, static,
        /// public_origin, tls_cert, tls_key, dev, secret_key_file, frame_ancestors, session_idle_minutes, session_absolute_hours,
        /// invite_valid_hours, code_valid_minutes, office_hours, reply_time, emergency_notice, consent_version, consent_text,
        /// caregiver_consent_version, caregiver_consent_text,
        /// max_attachment_bytes, attachment_quota_bytes, allowed_attachment_types, blob_store,
        /// upload_expiry_hours, unattached_blob_expiry_days, trusted_proxies, max_connections,
        /// header_read_timeout_seconds, body_read_timeout_seconds, idle_timeout_seconds,
        /// websocket_send_queue, max_threads_per_day, retention_years, sensitive_categories,
        /// push_services, vapid_key_file, push_contact, [smtp]).
        #[arg(long, env = "WARD_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port (printed at start).
        /// Default 127.0.0.1:8080.
        #[arg(long, env = "WARD_LISTEN")]
        listen: Option<SocketAddr>,
        /// The origin patients open Ward at, e.g. https://ward.example: passkeys
        /// are bound to it, and browser requests authenticated by the session
        /// cookie and WebSockets must come from exactly it. Default
        /// http://localhost:8080.
        #[arg(long, env = "WARD_PUBLIC_ORIGIN", value_name = "ORIGIN")]
        public_origin: Option<String>,
        /// Directory for the SQLite database, the relay's secret key file,
        /// the clinic setup code and the development code outbox; created on
        /// first run (mode 0700, its files 0600). Default ./data.
        #[arg(long = "data", env = "WARD_DATA")]
        data: Option<PathBuf>,
        /// The database: unset for the SQLite file in DATA, or
        /// postgres://USER:PASSWORD@HOST/DB for PostgreSQL (several relays
        /// can share one). Prefer the environment variable or the
        /// configuration file: a flag shows in the process list.
        #[arg(
            long,
            env = "WARD_DATABASE_URL",
            value_name = "URL",
            hide_env_values = true
        )]
        database_url: Option<String>,
        /// Development mode: without an [smtp] server, write one-time codes
        /// to DATA/dev-outbox.log instead of refusing to start. Never in
        /// production (also `dev = true` in the configuration file).
        #[arg(long)]
        dev: bool,
        /// A file holding the relay's secret (32 bytes, or 64 hex
        /// characters): TOTP seeds are sealed and one-time codes hashed under
        /// keys derived from it. Default DATA/relay-secret.key, created on
        /// first run. Back it up with the database.
        #[arg(long, env = "WARD_SECRET_KEY_FILE", value_name = "FILE")]
        secret_key_file: Option<PathBuf>,
        /// The web client built by Trunk (`dist/`); without it only the API
        /// is served.
        #[arg(long = "static", env = "WARD_STATIC")]
        static_dir: Option<PathBuf>,
        /// The clinic's office hours, shown to patients before their first
        /// message, e.g. "Monday to Friday, 8 am to 5 pm" (at most 200
        /// characters, one line). Default: none shown.
        #[arg(long, env = "WARD_OFFICE_HOURS")]
        office_hours: Option<String>,
        /// How soon patients can expect a reply, shown beside the office
        /// hours (at most 200 characters, one line). Default "within one
        /// business day".
        #[arg(long, env = "WARD_REPLY_TIME")]
        reply_time: Option<String>,
        /// What patients are told to do in an emergency, shown before their
        /// first message and when their draft may describe one (at most 300
        /// characters, one line). Default "If this is an emergency, call
        /// 911. For a mental health crisis, call or text 988."
        #[arg(long, env = "WARD_EMERGENCY_NOTICE")]
        emergency_notice: Option<String>,
        /// The largest attachment accepted, in bytes of the original file
        /// (clients learn it from GET /v1/clinic). Default 100000000 (100 MB).
        #[arg(long, env = "WARD_MAX_ATTACHMENT_BYTES", value_name = "BYTES")]
        max_attachment_bytes: Option<u64>,
        /// How many bytes of attachments one patient may keep, with the
        /// caregivers they invited (encrypted, unfinished uploads included).
        /// Default 1000000000 (1 GB).
        #[arg(long, env = "WARD_ATTACHMENT_QUOTA_BYTES", value_name = "BYTES")]
        attachment_quota_bytes: Option<u64>,
        /// Media types patients may attach, comma-separated (clients enforce
        /// it: the relay cannot see a file's type). Default
        /// image/jpeg,image/png,image/heic,image/webp,application/pdf.
        #[arg(
            long,
            env = "WARD_ALLOWED_ATTACHMENT_TYPES",
            value_name = "TYPES",
            value_delimiter = ','
        )]
        allowed_attachment_types: Option<Vec<String>>,
        /// Where attachment ciphertext is stored: s3://bucket/prefix (with
        /// the usual AWS_* environment variables for credentials, region and
        /// endpoint) or file:///directory. Default DATA/blobs.
        #[arg(long, env = "WARD_BLOB_STORE", value_name = "URL")]
        blob_store: Option<String>,
        /// Delete an upload not finalized within this many hours. Default 24.
        #[arg(long, env = "WARD_UPLOAD_EXPIRY_HOURS", value_name = "HOURS")]
        upload_expiry_hours: Option<u64>,
        /// Delete a finalized attachment no message references within this
        /// many days. Default 7.
        #[arg(long, env = "WARD_UNATTACHED_BLOB_EXPIRY_DAYS", value_name = "DAYS")]
        unattached_blob_expiry_days: Option<u64>,
        /// The reverse proxies in front of the relay, comma-separated
        /// addresses or CIDR blocks (e.g. 127.0.0.1,10.0.0.0/8): only from
        /// these is X-Forwarded-For believed. Default: none (the TCP peer
        /// is the client).
        #[arg(
            long,
            env = "WARD_TRUSTED_PROXIES",
            value_name = "ADDRESSES",
            value_delimiter = ','
        )]
        trusted_proxies: Option<Vec<String>>,
        /// The clinic sites allowed to embed Ward in an iframe,
        /// comma-separated origins (e.g. https://clinic.example): the
        /// Content Security Policy's frame-ancestors, and the only pages
        /// Ward's embed messages go to (docs/embedding.md). Default: none.
        #[arg(
            long,
            env = "WARD_FRAME_ANCESTORS",
            value_name = "ORIGINS",
            value_delimiter = ','
        )]
        frame_ancestors: Option<Vec<String>>,
        /// Delete messages and their attachments this many years (366 days
        /// each) after the relay received them, except in threads with a
        /// member on legal hold; each deletion is logged. Default: keep
        /// everything forever.
        #[arg(long, env = "WARD_RETENTION_YEARS", value_name = "YEARS")]
        retention_years: Option<u32>,
        /// The Web Push services the relay may send to, comma-separated
        /// origins (`https://fcm.googleapis.com`; one leading `*.` label
        /// allowed, `https://*.notify.windows.com`). A subscription on any
        /// other origin is refused (docs/push.md). Default: Google's,
        /// Mozilla's, Apple's and Microsoft's push services.
        #[arg(
            long,
            env = "WARD_PUSH_SERVICES",
            value_name = "ORIGINS",
            value_delimiter = ','
        )]
        push_services: Option<Vec<String>>,
        /// The relay's VAPID key (a P-256 private key: 32 bytes, 64 hex
        /// characters or 43 base64url characters). Relays sharing a
        /// database must share it. Default: `DATA/vapid.key`, created on
        /// first start.
        #[arg(long, env = "WARD_VAPID_KEY_FILE", value_name = "FILE")]
        vapid_key_file: Option<PathBuf>,
        /// The contact push services see in the VAPID token (`mailto:` or
        /// `https:`). Default: the public origin.
        #[arg(long, env = "WARD_PUSH_CONTACT", value_name = "URI")]
        push_contact: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("ward_relay=info,tower_http=warn,warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ward-relay: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ward-relay: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A comma-separated flag's entries, trimmed, the empty ones dropped.
fn list(entries: Vec<String>) -> Vec<String> {
    entries
        .into_iter()
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect()
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve {
            config,
            listen,
            public_origin,
            data,
            database_url,
            dev,
            secret_key_file,
            static_dir,
            office_hours,
            reply_time,
            emergency_notice,
            max_attachment_bytes,
            attachment_quota_bytes,
            allowed_attachment_types,
            blob_store,
            upload_expiry_hours,
            unattached_blob_expiry_days,
            trusted_proxies,
            frame_ancestors,
            retention_years,
            push_services,
            vapid_key_file,
            push_contact,
        } => {
            let mut settings = match config {
                Some(path) => Config::from_file(&path).map_err(|e| e.to_string())?,
                None => Config::default(),
            };
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            if let Some(origin) = public_origin {
                settings.public_origin = origin;
            }
            if let Some(data) = data {
                settings.data = data;
            }
            if let Some(url) = database_url {
                settings.database_url = Some(ward_relay::config::DatabaseUrl(url));
            }
            if dev {
                settings.dev = true;
            }
            if secret_key_file.is_some() {
                settings.secret_key_file = secret_key_file;
            }
            if static_dir.is_some() {
                settings.static_dir = static_dir;
            }
            if office_hours.is_some() {
                settings.office_hours = office_hours;
            }
            if let Some(reply_time) = reply_time {
                settings.reply_time = reply_time;
            }
            if let Some(emergency_notice) = emergency_notice {
                settings.emergency_notice = emergency_notice;
            }
            if let Some(bytes) = max_attachment_bytes {
                settings.max_attachment_bytes = bytes;
            }
            if let Some(bytes) = attachment_quota_bytes {
                settings.attachment_quota_bytes = bytes;
            }
            if let Some(types) = allowed_attachment_types {
                settings.allowed_attachment_types = list(types);
            }
            if blob_store.is_some() {
                settings.blob_store = blob_store;
            }
            if let Some(hours) = upload_expiry_hours {
                settings.upload_expiry_hours = hours;
            }
            if let Some(days) = unattached_blob_expiry_days {
                settings.unattached_blob_expiry_days = days;
            }
            if retention_years.is_some() {
                settings.retention_years = retention_years;
            }
            if let Some(proxies) = trusted_proxies {
                settings.trusted_proxies = list(proxies);
            }
            if let Some(origins) = frame_ancestors {
                settings.frame_ancestors = list(origins);
            }
            if let Some(origins) = push_services {
                settings.push_services = list(origins);
            }
            if vapid_key_file.is_some() {
                settings.vapid_key_file = vapid_key_file;
            }
            if push_contact.is_some() {
                settings.push_contact = push_contact;
            }
            settings.validate().map_err(|e| e.to_string())?;
            let listen = settings.listen;
            let data = settings.data.clone();
            let tls = settings.tls_cert.clone().zip(settings.tls_key.clone());
            let state = AppState::open(settings).await.map_err(|e| e.to_string())?;
            let listener = TcpListener::bind(listen).await.map_err(|e| {
                format!("could not listen on {listen}: {e}. Is another relay running? Pass --listen with another port")
            })?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            // The first line on stdout is the contract with `cargo xtask`
            // and the tests, which start the relay on port 0.
            let mut stdout = std::io::stdout();
            let scheme = if tls.is_some() { "https" } else { "http" };
            let _ = writeln!(stdout, "ward-relay listening on {scheme}://{addr}");
            let _ = stdout.flush();
            tracing::info!(
                data = %data.display(),
                blobs = state.blobs.description(),
                serving_client = state.site.is_some(),
                "relay started"
            );
            let served = match tls {
                Some((cert, key)) => {
                    ward_relay::serve_tls(listener, state, &cert, &key, shutdown_signal()).await
                }
                None => ward_relay::serve(listener, state, shutdown_signal()).await,
            };
            served.map_err(|e| format!("the server stopped with an error: {e}"))?;
            tracing::info!("relay stopped");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
