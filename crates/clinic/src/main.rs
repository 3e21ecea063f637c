//! `ward-clinic`: the clinic agent, the clinic's side of the conversation
//! (demos, tests). A separate binary from `ward-relay` so that the relay
//! server never links code that decrypts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use ward_clinic::terminal;

/// The clinic agent: the clinic's side of the conversation (demos, tests).
///
/// The key file's passphrase comes from WARD_CLINIC_PASSPHRASE.
#[derive(Debug, Parser)]
#[command(name = "ward-clinic", version)]
struct Cli {
    /// The relay to talk to.
    #[arg(long, env = "WARD_RELAY_URL", default_value = "http://127.0.0.1:8080")]
    relay: String,
    /// The clinic's key file (encrypted under the passphrase).
    #[arg(long, env = "WARD_CLINIC_KEY_FILE", default_value = "data/clinic.key")]
    key_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// List the clinic's threads with unread counts:
    /// `THREAD\tCATEGORY\tPATIENT[ (caregivers: NAMES)]\tunread N`, and a
    /// last column `consent withdrawn` when the patient withdrew their
    /// consent to messaging (nothing can be sent there until they agree
    /// again).
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
        /// message, in order, each as soon as its line is read (a prepared
        /// batch, or a pipe another program keeps writing to), printing
        /// `sent as #N` for each.
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
    /// Prove the relay's copy of a thread complete and unmodified, without
    /// decrypting it.
    ///
    /// Downloads every stored message and checks there is no gap from
    /// where retention pruned the thread (or #1) to its head, that each
    /// archive-chain link recomputes and the last is the relay's stated
    /// head, and that each envelope is signed by its sender's pinned key.
    /// The verified head is recorded beside the pinned keys, and a later
    /// run refuses an archive that does not extend it (history rewritten).
    /// Prints `archive of THREAD complete: messages #A to #B, head HASH`, or
    /// `archive of THREAD FAILED at #N: WHY` and exits with an error.
    VerifyArchive {
        /// The thread id.
        thread: String,
    },
    /// Print an account's access log, oldest first, and verify its hash
    /// chain (the check the patient's app makes).
    ///
    /// One line an entry: `#SEQ TIME KIND (DETAIL) [session S]`, TIME in
    /// UTC (RFC 3339); a sign-in's detail is its method, coarse device and
    /// network, a caregiver's read, send or a download names who and the
    /// thread. Then `access log of ACCOUNT verified: entries #A to #B[, from
    /// its start], head HASH`, or `access log of ACCOUNT FAILED: WHY` and an
    /// error exit. Every page the relay serves is read, back to entry 0.
    Audit {
        /// The account id (a patient's or caregiver's).
        account: String,
    },
    /// Record a patient's birth date (which makes them a minor until 18:
    /// from 13 to 17 a guardian the clinic appoints waits for their own
    /// agreement), or remove it with --adult. Prints `birth date of
    /// ACCOUNT: DATE` or `... : none`.
    Patient {
        /// The patient's account id.
        account: String,
        /// `YYYY-MM-DD`; with --minor for clarity.
        #[arg(long, value_name = "YYYY-MM-DD", required_unless_present = "adult")]
        birth_date: Option<String>,
        /// Says the patient is a minor (needs --birth-date).
        #[arg(long, requires = "birth_date", conflicts_with = "adult")]
        minor: bool,
        /// Removes the birth date: the patient is treated as an adult.
        #[arg(long, conflicts_with = "birth_date")]
        adult: bool,
    },
    /// Appoint a guardian (a personal representative) for a patient: prints
    /// the invite code to hand over. The patient sees them in People who
    /// help me; a patient aged 13 to 17 must agree to them there before
    /// anything is shared.
    Guardian {
        /// The patient's account id.
        account: String,
        /// The guardian's name.
        #[arg(long)]
        name: String,
        /// How they are related to the patient.
        #[arg(long, value_enum)]
        relationship: RelationshipArg,
        /// Where their one-time codes go (e-mail or phone).
        #[arg(long)]
        contact: String,
    },
    /// Put an account on legal hold (`on`) or release it (`off`): while
    /// held, retention deletes nothing from any thread the account is or
    /// was a member of. Prints `legal hold on ACCOUNT: on|off`.
    Hold {
        /// The account id (a patient's or caregiver's).
        account: String,
        /// `on` or `off`.
        state: HoldState,
    },
    /// A demo bot: answer new patient messages like a triage nurse would at
    /// first (by the thread's category, with quick replies), each reply
    /// marked "(Demo reply)", after showing "typing…" for a moment.
    Bot {
        /// Handle what is waiting, then exit.
        #[arg(long)]
        once: bool,
        /// Reply as soon as "typing…" is sent, without the pause (tests).
        #[arg(long)]
        no_delay: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RelationshipArg {
    /// The patient's parent.
    Parent,
    /// The patient's son or daughter.
    Child,
    /// The patient's spouse or partner.
    Spouse,
    /// Anyone else.
    Other,
}

impl From<RelationshipArg> for ward_proto::caregivers::Relationship {
    fn from(arg: RelationshipArg) -> Self {
        match arg {
            RelationshipArg::Parent => Self::Parent,
            RelationshipArg::Child => Self::Child,
            RelationshipArg::Spouse => Self::Spouse,
            RelationshipArg::Other => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum HoldState {
    /// Hold: retention deletes nothing from the account's threads.
    On,
    /// Release the hold.
    Off,
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
                .unwrap_or_else(|_| EnvFilter::new("ward_clinic=info,warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ward-clinic: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.relay, cli.key_file, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Errors may quote the relay or a patient (a file name).
            eprintln!("ward-clinic: {}", terminal::line(&message));
            ExitCode::FAILURE
        }
    }
}

async fn run(relay: String, key_file: PathBuf, command: Command) -> Result<(), String> {
    let passphrase = std::env::var(ward_clinic::PASSPHRASE_ENV).map_err(|_| {
        format!(
            "set {} to the clinic key file's passphrase (at least 12 characters)",
            ward_clinic::PASSPHRASE_ENV
        )
    })?;
    let agent = ward_clinic::Agent {
        relay,
        key_file,
        passphrase,
    };
    let mut out = std::io::stdout();
    match command {
        Command::Init {
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
        Command::Invite { name, contact } => {
            let invite = agent
                .invite(&name, &contact)
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{}", terminal::line(&invite.invite_code));
        }
        Command::Inbox => {
            for (thread, stopped) in agent
                .inbox_with_consent()
                .await
                .map_err(|e| e.to_string())?
            {
                let patient = thread
                    .members
                    .iter()
                    .find(|m| m.role == ward_proto::threads::Role::Patient)
                    .map_or("?", |m| m.display_name.as_str());
                // Whoever else may write for the patient is named too.
                let helpers: Vec<&str> = thread
                    .members
                    .iter()
                    .filter(|m| m.role == ward_proto::threads::Role::Caregiver)
                    .map(|m| m.display_name.as_str())
                    .collect();
                let who = if helpers.is_empty() {
                    patient.to_owned()
                } else {
                    format!("{patient} (caregivers: {})", helpers.join(", "))
                };
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\tunread {}{}",
                    terminal::line(&thread.thread_id),
                    terminal::line(&format!("{:?}", thread.category)),
                    terminal::line(&who),
                    thread.unread_count,
                    if stopped { "\tconsent withdrawn" } else { "" }
                );
            }
        }
        Command::Read {
            thread,
            save_attachments,
        } => {
            let read = agent
                .read(&thread, 0, save_attachments.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            for warning in &read.warnings {
                eprintln!("ward-clinic: {warning}");
            }
            if let Some(subject) = &read.subject {
                let _ = writeln!(out, "Subject: {}", terminal::line(subject));
            }
            for line in ward_clinic::thread_lines(&read) {
                let _ = writeln!(out, "{line}");
            }
            for member in &read.others {
                let _ = writeln!(out, "{}", ward_clinic::read_state_line(member));
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
        Command::Reply {
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
            // With `-`, each line goes as soon as it is read: a program
            // writing to the pipe sees its replies sent one by one.
            let from_stdin = text == "-";
            let mut next = if from_stdin {
                next_stdin_line().await?
            } else {
                Some(text)
            };
            while let Some(text) = next {
                let seq = agent
                    .reply(&thread, &text, &quick_reply, &attach)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = writeln!(out, "sent as #{seq}");
                next = if from_stdin {
                    next_stdin_line().await?
                } else {
                    None
                };
            }
        }
        Command::VerifyArchive { thread } => {
            let verified = agent
                .verify_archive(&thread)
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{}", ward_clinic::archive::verdict_line(&verified));
        }
        Command::Patient {
            account,
            birth_date,
            minor: _,
            adult: _,
        } => {
            agent
                .set_birth_date(&account, birth_date.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(
                out,
                "birth date of {}: {}",
                terminal::line(&account),
                birth_date.as_deref().map_or("none".into(), terminal::line)
            );
        }
        Command::Guardian {
            account,
            name,
            relationship,
            contact,
        } => {
            let invite = agent
                .appoint_guardian(&account, &name, relationship.into(), &contact)
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{}", terminal::line(&invite.invite_code));
        }
        Command::Hold { account, state } => {
            let held = agent
                .legal_hold(&account, matches!(state, HoldState::On))
                .await
                .map_err(|e| e.to_string())?;
            let _ = writeln!(
                out,
                "legal hold on {}: {}",
                terminal::line(&account),
                if held { "on" } else { "off" }
            );
        }
        Command::Audit { account } => {
            let events = agent
                .access_log(&account)
                .await
                .map_err(|e| e.to_string())?;
            for line in ward_clinic::audit::lines(&events) {
                let _ = writeln!(out, "{line}");
            }
            let verdict = ward_clinic::audit::verify(&events);
            let line = ward_clinic::audit::verdict_line(&account, &verdict);
            if matches!(verdict, ward_clinic::audit::Verdict::Broken(_)) {
                return Err(line);
            }
            let _ = writeln!(out, "{line}");
        }
        Command::Typing { thread } => {
            agent.typing(&thread).await.map_err(|e| e.to_string())?;
        }
        Command::NewKeys => {
            let safety_number = agent.new_keys().await.map_err(|e| e.to_string())?;
            let _ = writeln!(out, "{safety_number}");
            eprintln!(
                "ward-clinic: the clinic's keys changed; threads sealed to the old keys can no longer be read"
            );
        }
        Command::Watch { thread, seconds } => {
            let watcher = agent
                .watch(thread.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "ward-clinic: watching {}; Ctrl-C to stop",
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
        Command::Keys {
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
        Command::Keys {
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
        Command::Bot { once, no_delay } => {
            agent.bot(once, no_delay).await.map_err(|e| e.to_string())?
        }
    }
    Ok(())
}

/// The next line of standard input that is not blank (without its line
/// ending), or `None` at its end. Read on a blocking thread, so the relay
/// connections keep being served while the agent waits for a line.
async fn next_stdin_line() -> Result<Option<String>, String> {
    let read = tokio::task::spawn_blocking(|| -> std::io::Result<Option<String>> {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut stdin, &mut line)? == 0 {
                return Ok(None);
            }
            let text = line
                .strip_suffix('\n')
                .map_or(line.as_str(), |l| l.strip_suffix('\r').unwrap_or(l));
            if !text.trim().is_empty() {
                return Ok(Some(text.to_owned()));
            }
        }
    })
    .await
    .map_err(std::io::Error::other)
    .flatten();
    read.map_err(|error| format!("could not read the messages from standard input: {error}"))
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
