//! `ward-relay`: run the relay.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use ward_relay::clinic::terminal;
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

// Parsed once at start: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (and the built web client) over HTTP.
    ///
    /// Settings come from defaults, then the --config file, then these
    /// flags or their environment variables.
    Serve {
        /// A TOML configuration file (keys: listen, data, static,
        /// public_origin, tls_cert, tls_key, dev, secret_key_file, frame_ancestors, session_idle_minutes, session_absolute_hours,
        /// invite_valid_hours, code_valid_minutes, office_hours, reply_time, emergency_notice,
        /// max_attachment_bytes, attachment_quota_bytes, allowed_attachment_types, blob_store,
        /// upload_expiry_hours, unattached_blob_expiry_days, trusted_proxies, max_connections,
        /// header_read_timeout_seconds, body_read_timeout_seconds, idle_timeout_seconds,
        /// websocket_send_queue, [smtp]).
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
    },
    /// The clinic agent: the clinic's side of the conversation (demos, tests).
    ///
    /// The key file's passphrase comes from WARD_CLINIC_PASSPHRASE.
    Clinic {
        /// The relay to talk to.
        #[arg(long, env = "WARD_RELAY_URL", default_value = "http://127.0.0.1:8080")]
        relay: String,
        /// The clinic's key file (encrypted under the passphrase).
        #[arg(long, env = "WARD_CLINIC_KEY_FILE", default_value = "data/clinic.key")]
        key_file: PathBuf,
        #[command(subcommand)]
        command: ClinicCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ClinicCommand {
    /// Create the clinic inbox account (with the relay's setup code) and its key file.
    Init {
        /// The clinic's name as patients see it.
        #[arg(long)]
        name: String,
        /// The setup code (or use --setup-code-file).
        #[arg(long, conflicts_with = "setup_code_file")]
        setup_code: Option<String>,
        /// The relay's `DATA/clinic-setup-code` file.
        #[arg(long)]
        setup_code_file: Option<PathBuf>,
    },
    /// Invite a patient; prints the invite code to hand over.
    Invite {
        /// The patient's name.
        #[arg(long)]
        name: String,
        /// Where their one-time codes go (e-mail or phone).
        #[arg(long)]
        contact: String,
    },
    /// List the clinic's threads with unread counts.
    Inbox,
    /// Decrypt and print a thread's messages (and mark them read), then how
    /// far each other member has read: `read by NAME up to #N[ at HH:MM UTC]`
    /// or `NAME has not read anything yet`.
    ///
    /// Each attachment is listed under its message as
    /// `    [attachment] NAME (TYPE, N bytes)`; with --save-attachments the
    /// line ends ` saved to PATH` (or ` NOT saved: WHY`, and the command
    /// exits with an error after printing everything).
    Read {
        /// The thread id.
        thread: String,
        /// Download, decrypt and check every attachment (its SHA-256 against
        /// the message's) and save it in DIR (created if missing) under a
        /// safe version of its name, numbered " (2)", " (3)", ... rather
        /// than replacing a file. A file that fails a check is not kept.
        #[arg(long, value_name = "DIR")]
        save_attachments: Option<PathBuf>,
    },
    /// Send an encrypted reply.
    Reply {
        /// The thread id.
        thread: String,
        /// The message; `-` sends each line of standard input as its own
        /// message, in order (a prepared batch).
        text: String,
        /// Offer a quick reply (repeatable).
        #[arg(long = "quick-reply")]
        quick_reply: Vec<String>,
        /// Attach a file (repeatable, at most 10): encrypted with a fresh key
        /// and uploaded in parts before the message is sent. Its type is
        /// guessed from the extension (pdf, jpg/jpeg, png, heic, webp, txt;
        /// otherwise application/octet-stream). Not with `-`.
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// Tell the thread's other members the clinic is typing; prints nothing.
    ///
    /// Patients' apps show "<clinic> is typing…" for a few seconds; run it
    /// again to keep it showing.
    Typing {
        /// The thread id.
        thread: String,
    },
    /// Print the clinic's live events, one line each, until interrupted
    /// (or for --seconds): `NAME is typing in THREAD`, new messages as
    /// `read` prints them (`#N NAME: TEXT`, quick replies indented below),
    /// and the other members' receipts, `read by NAME up to #N` or
    /// `delivered to NAME up to #N`.
    ///
    /// Only listens: it marks nothing read or delivered. Says on stderr when
    /// it is listening; exits with an error if the relay ends the stream.
    Watch {
        /// Only this thread's events (default: every thread of the clinic's).
        thread: Option<String>,
        /// Stop after this many seconds (default: until Ctrl-C).
        #[arg(long, value_name = "N")]
        seconds: Option<u64>,
    },
    /// Replace the clinic's account keys with fresh ones (as when its device
    /// is replaced); prints the new safety number.
    ///
    /// Publishes a new key bundle for the same clinic account and rewrites
    /// the key file with the new keys under the same passphrase. The old keys
    /// are gone: threads (epochs) sealed to them cannot be read with the new
    /// ones, and the old key file no longer signs in. Patients' apps warn
    /// about the changed keys and hold sending until the patient confirms
    /// the new safety number, printed here as six groups of five digits.
    /// If publishing fails, the old key file is kept unchanged.
    /// Restart a running `bot` afterwards: it still holds the old keys.
    NewKeys,
    /// The members' keys this agent pinned, and confirming a key change.
    ///
    /// The agent pins every member's key (its key-history head and bundle)
    /// on first use, in a file beside the key file (KEY_FILE.pins.json), and
    /// checks the whole history on every fetch. When a member's key changes
    /// it sends nothing into their threads and opens nothing signed with the
    /// new key until you call them, compare the new safety number, and
    /// confirm it here. A history the relay rewrote is refused for good.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Answer every new patient message with a canned reply and two quick replies.
    Bot {
        /// Handle what is waiting, then exit.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Every pinned account, one line each:
    /// `ACCOUNT_ID  NAME  SAFETY_NUMBER  seq N  STATE`, the state `pinned`,
    /// `CHANGED to SAFETY_NUMBER (seq N): not confirmed`, or `REWRITTEN`.
    List,
    /// Accept ACCOUNT_ID's new key after comparing its safety number with
    /// the person (by phone or in person); prints the numbers before and after.
    Confirm {
        /// The account whose key changed.
        account_id: String,
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
            // Errors may quote the relay or a patient (a file name).
            eprintln!("ward-relay: {}", terminal::line(&message));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Clinic {
            relay,
            key_file,
            command,
        } => clinic(relay, key_file, command).await,
        Command::Serve {
            config,
            listen,
            public_origin,
            data,
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
                settings.allowed_attachment_types = types
                    .into_iter()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
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
            if let Some(proxies) = trusted_proxies {
                settings.trusted_proxies = proxies
                    .into_iter()
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect();
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

async fn clinic(relay: String, key_file: PathBuf, command: ClinicCommand) -> Result<(), String> {
    let passphrase = std::env::var(ward_relay::clinic::PASSPHRASE_ENV).map_err(|_| {
        format!(
            "set {} to the clinic key file's passphrase (at least 12 characters)",
            ward_relay::clinic::PASSPHRASE_ENV
        )
    })?;
    let agent = ward_relay::clinic::Agent {
        relay,
        key_file,
        passphrase,
    };
    let mut out = std::io::stdout();
    match command {
        ClinicCommand::Init {
            name,
            setup_code,
            setup_code_file,
        } => {
            let code = match (setup_code, setup_code_file) {
                (Some(code), _) => code,
                (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
                    format!("could not read the setup code from {}: {e}", path.display())
                })?,
                (None, None) => return Err("pass --setup-code or --setup-code-file".into()),
            };
            let account = agent.init(&code, &name).await.map_err(|e| e.to_string())?;
            let _ = writeln!(
                out,
                "clinic {} set up; keys in {}",
                terminal::line(&account),
                terminal::line(&agent.key_file.display().to_string())
            );
        }
        ClinicCommand::Invite { name, contact } => {
            let invite = agent
                .invite(&name, &contact)
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{}", terminal::line(&invite.invite_code));
        }
        ClinicCommand::Inbox => {
            for thread in agent.inbox().await.map_err(|e| e.to_string())? {
                let patient = thread
                    .members
                    .iter()
                    .find(|m| m.role == ward_proto::threads::Role::Patient)
                    .map_or("?", |m| m.display_name.as_str());
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\tunread {}",
                    terminal::line(&thread.thread_id),
                    terminal::line(&format!("{:?}", thread.category)),
                    terminal::line(patient),
                    thread.unread_count
                );
            }
        }
        ClinicCommand::Read {
            thread,
            save_attachments,
        } => {
            let read = agent
                .read(&thread, 0, save_attachments.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            for warning in &read.warnings {
                eprintln!("ward-relay: {warning}");
            }
            for line in ward_relay::clinic::thread_lines(&read) {
                let _ = writeln!(out, "{line}");
            }
            for member in &read.others {
                let _ = writeln!(out, "{}", ward_relay::clinic::read_state_line(member));
            }
            let failed = read
                .messages
                .iter()
                .flat_map(|m| &m.saved)
                .filter(|saved| saved.is_err())
                .count();
            if failed > 0 {
                return Err(format!(
                    "{failed} attachment{} could not be saved (see NOT saved above)",
                    if failed == 1 { "" } else { "s" }
                ));
            }
        }
        ClinicCommand::Reply {
            thread,
            text,
            quick_reply,
            attach,
        } => {
            if text == "-" && !attach.is_empty() {
                return Err(
                    "--attach sends files with one message; give its text instead of -".into(),
                );
            }
            let texts: Vec<String> = if text == "-" {
                std::io::stdin()
                    .lines()
                    .filter(|line| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("could not read the messages from standard input: {e}"))?
            } else {
                vec![text]
            };
            for text in texts {
                let seq = agent
                    .reply(&thread, &text, &quick_reply, &attach)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = writeln!(out, "sent as #{seq}");
            }
        }
        ClinicCommand::Typing { thread } => {
            agent.typing(&thread).await.map_err(|e| e.to_string())?;
        }
        ClinicCommand::NewKeys => {
            let safety_number = agent.new_keys().await.map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{safety_number}");
            eprintln!(
                "ward-relay: the clinic's keys changed; threads sealed to the old keys can no longer be read"
            );
        }
        ClinicCommand::Watch { thread, seconds } => {
            let watcher = agent
                .watch(thread.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "ward-relay: watching {}; Ctrl-C to stop",
                terminal::line(thread.as_deref().unwrap_or("all of the clinic's threads"))
            );
            let stop = async {
                match seconds {
                    Some(seconds) => {
                        tokio::select! {
                            () = tokio::time::sleep(std::time::Duration::from_secs(seconds)) => {},
                            () = shutdown_signal() => {},
                        }
                    }
                    None => shutdown_signal().await,
                }
            };
            watcher
                .run(stop, &mut out)
                .await
                .map_err(|e| e.to_string())?;
        }
        ClinicCommand::Keys {
            command: KeysCommand::List,
        } => {
            for (account_id, pin) in agent.pinned().map_err(|e| e.to_string())? {
                let safety = |bytes: &[u8]| {
                    ward_seal::keys::PublicBundle::from_bytes(bytes).map_or_else(
                        |_| "(invalid)".to_owned(),
                        |b| b.safety_number().to_string(),
                    )
                };
                let state = if pin.rewritten {
                    "REWRITTEN: the relay rewrote this key history; nothing is sent or accepted"
                        .to_owned()
                } else if let Some(pending) = &pin.pending {
                    format!(
                        "CHANGED to {} (seq {}): not confirmed; compare it, then `keys confirm {}`",
                        safety(&pending.bundle.0),
                        pending.seq,
                        terminal::line(&account_id)
                    )
                } else {
                    "pinned".to_owned()
                };
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\tseq {}\t{state}",
                    terminal::escape(&account_id, terminal::Field::Line),
                    terminal::escape(&pin.name, terminal::Field::Line),
                    safety(&pin.bundle.0),
                    pin.seq
                );
            }
        }
        ClinicCommand::Keys {
            command: KeysCommand::Confirm { account_id },
        } => {
            let (before, after) = agent
                .confirm_key(&account_id)
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "before: {before}");
            let _ = writeln!(out, "after:  {after}");
            let _ = writeln!(out, "confirmed: {account_id}'s new key is pinned");
        }
        ClinicCommand::Bot { once } => agent.bot(once).await.map_err(|e| e.to_string())?,
    }
    Ok(())
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
