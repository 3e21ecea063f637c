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
        /// frame_ancestors, session_idle_minutes, session_absolute_hours,
        /// invite_valid_hours, code_valid_minutes).
        #[arg(long, env = "WARD_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port (printed at start).
        /// Default 127.0.0.1:8080.
        #[arg(long, env = "WARD_LISTEN")]
        listen: Option<SocketAddr>,
        /// Directory for the SQLite database, the clinic setup code and the
        /// development code outbox; created on first run. Default ./data.
        #[arg(long = "data", env = "WARD_DATA")]
        data: Option<PathBuf>,
        /// The web client built by Trunk (`dist/`); without it only the API
        /// is served.
        #[arg(long = "static", env = "WARD_STATIC")]
        static_dir: Option<PathBuf>,
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

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve {
            config,
            listen,
            data,
            static_dir,
        } => {
            let mut settings = match config {
                Some(path) => Config::from_file(&path).map_err(|e| e.to_string())?,
                None => Config::default(),
            };
            if let Some(listen) = listen {
                settings.listen = listen;
            }
            if let Some(data) = data {
                settings.data = data;
            }
            if static_dir.is_some() {
                settings.static_dir = static_dir;
            }
            settings.validate().map_err(|e| e.to_string())?;
            let listen = settings.listen;
            let data = settings.data.clone();
            let state = AppState::open(settings).await.map_err(|e| e.to_string())?;
            let listener = TcpListener::bind(listen).await.map_err(|e| {
                format!("could not listen on {listen}: {e}. Is another relay running? Pass --listen with another port")
            })?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            // The first line on stdout is the contract with `cargo xtask`
            // and the tests, which start the relay on port 0.
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "ward-relay listening on http://{addr}");
            let _ = stdout.flush();
            tracing::info!(
                data = %data.display(),
                serving_client = state.site.is_some(),
                "relay started"
            );
            ward_relay::serve(listener, state, shutdown_signal())
                .await
                .map_err(|e| format!("the server stopped with an error: {e}"))?;
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
