//! `ward-loadgen`: the load generator of the relay capacity benchmark
//! (`cargo xtask bench relay`).
//!
//! It drives one running relay, started with `--dev` on a fresh data
//! directory, through its real API only: the clinic is set up with the
//! setup code the relay writes to `DATA/clinic-setup-code`, patients are
//! invited by the clinic and enroll with the one-time code the development
//! mail sink writes to `DATA/dev-outbox.log` (as the relay's own tests and
//! `cargo xtask dev` do), every account publishes real keys, and every
//! message is a real sealed envelope. The relay's memory and CPU are read
//! from `/proc/PID` of the relay process (`--relay-pid`).
//!
//! Scenarios, in this order, each skipped when its size is 0:
//!
//! * sockets (`--sockets N`): N authenticated WebSockets held open (on the
//!   sessions of a few patients, `--socket-accounts`), the relay's RSS per
//!   connection, and its CPU per message event (into a thread none of the
//!   held sockets belongs to) at 1 000 and at N connections;
//! * messages (`--rate R --seconds S`, then `--max-messages M`): sealed
//!   messages posted by a few patients into threads whose members are
//!   connected, at a fixed rate and then as fast as the relay takes them;
//!   messages stored per second and delivery latency (post start to the
//!   frame on the clinic's WebSocket), with the N sockets still held;
//! * parts (`--parts P`): attachment parts uploaded, parts/s and MB/s.
//!
//! Every result is printed as `BENCH name value unit`, then as a table;
//! `--out DIR` also gets CSV samples and PNG graphs.
#![forbid(unsafe_code)]

mod png;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Client, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ward_proto::Bytes;
use ward_proto::auth::{
    ClinicSetupRequest, EnrollCodeRequest, EnrollStartRequest, EnrollStarted, EnrollVerifyRequest,
    InviteCreateRequest, InviteCreated, SessionCreated,
};
use ward_proto::blobs::{CreateUploadRequest, UploadCreated};
use ward_proto::events::{Event, EventsAuth};
use ward_proto::keys::PublishBundleRequest;
use ward_proto::threads::{
    Category, CreateThreadRequest, PostMessageRequest, PutEpochRequest, Thread,
};
use ward_seal::keys::AccountKeys;
use ward_seal::random::os_rng;
use ward_seal::thread_key::ThreadKey;

/// Drives a `--dev` relay on a fresh data directory through its real API.
#[derive(Debug, Parser)]
#[command(name = "ward-loadgen")]
struct Args {
    /// The relay, e.g. `http://localhost:8080`.
    #[arg(long)]
    relay: String,
    /// The relay's data directory (its `--data`): the clinic setup code and
    /// the development outbox of one-time codes are read from there.
    #[arg(long)]
    data: PathBuf,
    /// The relay's process id, for its RSS and CPU time in `/proc`.
    #[arg(long)]
    relay_pid: u32,
    /// Prefix of every result name (e.g. `sqlite`, `postgres`).
    #[arg(long, default_value = "relay")]
    label: String,
    /// Idle authenticated WebSockets to open and hold (0: skip).
    #[arg(long, default_value_t = 0)]
    sockets: usize,
    /// Patients whose sessions the held sockets use.
    #[arg(long, default_value_t = 4)]
    socket_accounts: usize,
    /// Message events posted to measure the relay's CPU per event.
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Offered message rate, messages per second (0: skip).
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// How long the fixed-rate run lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages posted as fast as the relay takes them, `--concurrency`
    /// at a time (0: skip).
    #[arg(long, default_value_t = 0)]
    max_messages: usize,
    /// Posts in flight at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Patients posting messages, each in its own thread with the clinic.
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Attachment parts to upload (0: skip).
    #[arg(long, default_value_t = 0)]
    parts: usize,
    /// Bytes per part (a real client's full part: 33 + 16 x 65 552).
    #[arg(long, default_value_t = 1_048_865)]
    part_size: usize,
    /// Where to write CSV samples and PNG graphs (none: not written).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ward-loadgen: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The results so far, printed as they come and as a table at the end.
#[derive(Debug, Default)]
struct Report {
    label: String,
    rows: Vec<(String, f64, &'static str)>,
}

impl Report {
    fn add(&mut self, name: &str, value: f64, unit: &'static str) {
        let name = format!("{}.{name}", self.label);
        println!("BENCH {name} {} {unit}", fmt_value(value));
        self.rows.push((name, value, unit));
    }

    fn table(&self) -> String {
        let width = self.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (name, value, unit) in &self.rows {
            let _ = writeln!(out, "  {name:<width$}  {:>14} {unit}", fmt_value(*value));
        }
        out
    }
}

fn fmt_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// Posts in flight at most in the fixed-rate run (open loop).
const FIXED_RATE_IN_FLIGHT: usize = 256;

async fn run(args: Args) -> Result<()> {
    let api = Api {
        http: Client::builder()
            // As many kept-alive connections as posts can be in flight (the
            // fixed-rate run allows FIXED_RATE_IN_FLIGHT): with fewer, a
            // moment's slowness put more posts in flight than idle
            // connections, each extra one a new TCP connection closed right
            // after, and that churn cost the load generator and the kernel
            // more CPU, so more posts were late: a spiral of the load
            // generator's own making, not a client's (docs/benchmarks.md,
            // "2026-12-04").
            .pool_max_idle_per_host(args.concurrency.max(FIXED_RATE_IN_FLIGHT))
            .timeout(Duration::from_secs(60))
            .build()?,
        base: args.relay.trim_end_matches('/').to_owned(),
        data: args.data.clone(),
    };
    let relay = Proc::new(args.relay_pid)?;
    let mut report = Report {
        label: args.label.clone(),
        ..Report::default()
    };
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    }

    // Accounts, all through the API: the clinic, the patients whose
    // sessions hold the idle sockets, one patient whose thread carries the
    // per-event CPU probe, and the senders.
    let setup_started = Instant::now();
    let clinic = api.clinic().await.context("clinic setup")?;
    let mut next_patient = 0usize;
    let mut patients = |count: usize| {
        let start = next_patient;
        next_patient += count;
        start..start + count
    };
    let holder_ids = patients(if args.sockets > 0 {
        args.socket_accounts.max(1)
    } else {
        0
    });
    let probe_ids = patients(usize::from(args.sockets > 0));
    let sender_ids = patients(args.senders.max(1));
    let mut holders = Vec::new();
    for i in holder_ids {
        holders.push(api.patient(&clinic, i).await?);
    }
    let mut probe = None;
    for i in probe_ids {
        let patient = api.patient(&clinic, i).await?;
        let (thread_id, key) = api.thread(&patient, &clinic).await?;
        probe = Some((patient, thread_id, key));
    }
    let mut senders = Vec::new();
    for i in sender_ids {
        let patient = api.patient(&clinic, i).await?;
        let (thread_id, key) = api.thread(&patient, &clinic).await?;
        senders.push((patient, thread_id, key));
    }
    println!(
        "loadgen: enrolled the clinic and {next_patient} patients through the API in {:.1} s",
        setup_started.elapsed().as_secs_f64()
    );

    let mut held = Held::default();
    let mut rss = None;
    if let (true, Some(probe)) = (args.sockets > 0, &probe) {
        rss = Some(sockets(&api, &relay, &args, &holders, probe, &mut held, &mut report).await?);
    }
    if args.rate > 0 || args.max_messages > 0 {
        // The senders are online too (every member of each thread is):
        // their own socket hears their message, as a second device would.
        let url = api.ws_url();
        for (patient, _, _) in &senders {
            held.hold(connect(&url, patient).await?);
        }
        messages(&api, &relay, &args, &clinic, &senders, &held, &mut report).await?;
    }
    if args.parts > 0 {
        let uploader = senders
            .first()
            .map(|s| &s.0)
            .ok_or_else(|| anyhow!("no sender to upload as"))?;
        parts(&api, &args, uploader, &mut report).await?;
    }
    let closed = held.closed.load(Ordering::Relaxed);
    report.add("sockets.closed_by_relay", closed as f64, "sockets");
    if let Some(rss) = rss {
        memory_returned(&relay, &held, rss, &mut report).await?;
    }
    println!("\n{} results:\n{}", args.label, report.table());
    Ok(())
}

// ───────────────────────────── the API ─────────────────────────────

#[derive(Debug)]
struct Api {
    http: Client,
    base: String,
    data: PathBuf,
}

/// A signed-in account with its keys.
struct Account {
    id: String,
    token: String,
    keys: AccountKeys,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("id", &self.id).finish()
    }
}

impl Api {
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        want: StatusCode,
    ) -> Result<T> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if status != want {
            bail!("{method} {path}: {status} (wanted {want}): {text}");
        }
        // A 204 has no body: read as JSON `null` (for `T = ()`).
        let text = if text.is_empty() { "null" } else { &text };
        serde_json::from_str(text).with_context(|| format!("{method} {path}: {text}"))
    }

    /// Sets up the clinic with the relay's setup code; publishes its keys.
    async fn clinic(&self) -> Result<Account> {
        let file = self.data.join("clinic-setup-code");
        let setup_code = std::fs::read_to_string(&file)
            .with_context(|| format!("{} (a fresh `--dev` relay writes it)", file.display()))?;
        let session: SessionCreated = self
            .call(
                Method::POST,
                "/v1/clinic/setup",
                None,
                Some(&ClinicSetupRequest {
                    setup_code: setup_code.trim().to_owned(),
                    display_name: "Loadgen Clinic".into(),
                }),
                StatusCode::OK,
            )
            .await
            .context("the clinic could not be set up: ward-loadgen needs a fresh relay")?;
        self.publish(session).await
    }

    /// The clinic invites patient `i`, who enrolls with the emailed code.
    async fn patient(&self, clinic: &Account, i: usize) -> Result<Account> {
        let contact = format!("loadgen-{i}@example.com");
        let invite: InviteCreated = self
            .call(
                Method::POST,
                "/v1/invites",
                Some(&clinic.token),
                Some(&InviteCreateRequest {
                    display_name: format!("Load Patient {i}"),
                    contact: contact.clone(),
                }),
                StatusCode::CREATED,
            )
            .await?;
        let seen = self.codes_for(&contact).len();
        let started: EnrollStarted = self
            .call(
                Method::POST,
                "/v1/enroll/start",
                None,
                Some(&EnrollStartRequest {
                    invite_code: invite.invite_code,
                }),
                StatusCode::OK,
            )
            .await?;
        let () = self
            .call(
                Method::POST,
                "/v1/enroll/code",
                None,
                Some(&EnrollCodeRequest {
                    enrollment_id: started.enrollment_id.clone(),
                }),
                StatusCode::NO_CONTENT,
            )
            .await?;
        let code = self.next_code_for(&contact, seen).await?;
        let session: SessionCreated = self
            .call(
                Method::POST,
                "/v1/enroll/verify",
                None,
                Some(&EnrollVerifyRequest {
                    enrollment_id: started.enrollment_id,
                    code,
                }),
                StatusCode::OK,
            )
            .await?;
        self.publish(session).await
    }

    /// Fresh keys for the session's account, published.
    async fn publish(&self, session: SessionCreated) -> Result<Account> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let keys = AccountKeys::generate(&session.account_id, now, &mut os_rng())
            .map_err(|e| anyhow!("generating keys: {e:?}"))?;
        let response = self
            .http
            .put(format!("{}/v1/keys/me", self.base))
            .bearer_auth(&session.token)
            .json(&PublishBundleRequest {
                bundle: Bytes(keys.bundle().to_bytes()),
            })
            .send()
            .await?;
        if response.status() != StatusCode::NO_CONTENT {
            bail!("PUT /v1/keys/me: {}", response.status());
        }
        Ok(Account {
            id: session.account_id,
            token: session.token,
            keys,
        })
    }

    /// Every code the development sink "sent" to `contact`, oldest first.
    fn codes_for(&self, contact: &str) -> Vec<String> {
        let outbox = std::fs::read_to_string(self.data.join("dev-outbox.log")).unwrap_or_default();
        outbox
            .split_inclusive('\n')
            .filter_map(|line| line.strip_suffix('\n'))
            .filter_map(|line| {
                let mut parts = line.split('\t');
                let (to, _purpose, code) = (parts.next()?, parts.next()?, parts.next()?);
                (to == contact).then(|| code.to_owned())
            })
            .collect()
    }

    async fn next_code_for(&self, contact: &str, seen: usize) -> Result<String> {
        for _ in 0..200 {
            if let Some(code) = self.codes_for(contact).into_iter().nth(seen) {
                return Ok(code);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("no one-time code for {contact} in the dev outbox within 5 s")
    }

    /// `patient` starts a thread with the clinic and seals epoch 0 to both.
    async fn thread(&self, patient: &Account, clinic: &Account) -> Result<(String, ThreadKey)> {
        let thread: Thread = self
            .call(
                Method::POST,
                "/v1/threads",
                Some(&patient.token),
                Some(&CreateThreadRequest {
                    category: Category::Question,
                }),
                StatusCode::CREATED,
            )
            .await?;
        let key = ThreadKey::generate(&mut os_rng());
        let sealed = ward_seal::thread_key::seal_to_members(
            &key,
            &thread.thread_id,
            0,
            &patient.keys,
            &[patient.keys.bundle().clone(), clinic.keys.bundle().clone()],
            &mut os_rng(),
        )
        .map_err(|e| anyhow!("sealing the thread key: {e:?}"))?;
        let response = self
            .http
            .post(format!(
                "{}/v1/threads/{}/epochs",
                self.base, thread.thread_id
            ))
            .bearer_auth(&patient.token)
            .json(&PutEpochRequest {
                epoch: 0,
                sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
            })
            .send()
            .await?;
        if response.status() != StatusCode::CREATED {
            bail!("POST epochs: {}", response.status());
        }
        Ok((thread.thread_id, key))
    }

    /// Posts a sealed message; the status.
    async fn post(
        &self,
        token: &str,
        thread_id: &str,
        body: &PostMessageRequest,
    ) -> Result<StatusCode> {
        Ok(self
            .http
            .post(format!("{}/v1/threads/{thread_id}/messages", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?
            .status())
    }

    fn ws_url(&self) -> String {
        self.base.replacen("http://", "ws://", 1) + "/v1/events"
    }
}

/// A sealed text message from `sender`, ready to post.
fn envelope(
    sender: &Account,
    key: &ThreadKey,
    thread_id: &str,
    message_id: &str,
) -> Result<PostMessageRequest> {
    let header = ward_seal::envelope::Header {
        thread_id: thread_id.to_owned(),
        epoch: 0,
        message_id: message_id.to_owned(),
        sender_id: sender.id.clone(),
        sent_at_ms: u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?,
    };
    let envelope = ward_seal::envelope::seal(
        &sender.keys,
        key,
        header,
        &ward_seal::payload::Payload::text("Load test: my refill request, please call me back."),
        &mut os_rng(),
    )
    .map_err(|e| anyhow!("sealing: {e:?}"))?;
    Ok(PostMessageRequest {
        envelope: Bytes(envelope.to_bytes()),
        attachments: Vec::new(),
    })
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/v1/events` as `account` and waits for `Ready`. Small buffers:
/// tungstenite's default 128 KiB read buffer per socket would make the
/// client, not the relay, the limit.
async fn connect(url: &str, account: &Account) -> Result<Socket> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .context("WebSocket connect")?;
    let auth = serde_json::to_string(&EventsAuth {
        token: account.token.clone(),
    })?;
    socket.send(Message::Text(auth.into())).await?;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .map_err(|_| anyhow!("no Ready within 10 s"))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let event: Event = serde_json::from_str(&text)?;
                if let Event::Ready { account_id } = event
                    && account_id == account.id
                {
                    return Ok(socket);
                }
                bail!("expected Ready, got {text}");
            }
            Some(Ok(Message::Close(frame))) => bail!("closed before Ready: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed before Ready"),
        }
    }
}

// ─────────────────────────── the relay process ───────────────────────────

/// The relay's `/proc` entry.
#[derive(Debug)]
struct Proc {
    pid: u32,
    ticks_per_second: f64,
}

impl Proc {
    fn new(pid: u32) -> Result<Self> {
        let ticks = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        let proc = Self {
            pid,
            ticks_per_second: ticks,
        };
        proc.rss_bytes()
            .context("reading the relay's /proc entry")?;
        Ok(proc)
    }

    /// Resident set size (VmRSS), bytes.
    fn rss_bytes(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| anyhow!("no VmRSS in /proc/{}/status", self.pid))?;
        Ok(kb * 1024)
    }

    /// User plus system CPU time so far, seconds.
    fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces): state is
        // the first, utime the 12th, stime the 13th.
        let rest = stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow!("malformed /proc/{}/stat", self.pid))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| -> Result<f64> {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .ok_or_else(|| anyhow!("malformed /proc/{}/stat", self.pid))
        };
        Ok((field(11)? + field(12)?) / self.ticks_per_second)
    }
}

// ───────────────────────────── sockets ─────────────────────────────

/// The idle sockets held open, each drained by its own task until the
/// relay closes it or [`Held::close_all`] asks it to close.
#[derive(Debug)]
struct Held {
    count: usize,
    /// Closed by the relay (not by us).
    closed: Arc<AtomicU64>,
    /// Ended, however: closed by either side.
    ended: Arc<AtomicU64>,
    close: tokio::sync::watch::Sender<bool>,
}

impl Default for Held {
    fn default() -> Self {
        Self {
            count: 0,
            closed: Arc::default(),
            ended: Arc::default(),
            close: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Held {
    fn hold(&mut self, mut socket: Socket) {
        self.count += 1;
        let closed = Arc::clone(&self.closed);
        let ended = Arc::clone(&self.ended);
        let mut close = self.close.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    frame = socket.next() => {
                        if matches!(frame, None | Some(Err(_))) {
                            closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    // The guard `wait_for` answers is dropped at once: it must
                    // not be held across the close below.
                    () = async { drop(close.wait_for(|close| *close).await) } => {
                        let _ = socket.close(None).await;
                        break;
                    }
                }
            }
            ended.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Closes every held socket (a clean WebSocket close) and waits until
    /// all have ended, at most `within`; how many ended.
    async fn close_all(&self, within: Duration) -> u64 {
        self.close.send_replace(true);
        let deadline = Instant::now() + within;
        while self.ended.load(Ordering::Relaxed) < self.count as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.ended.load(Ordering::Relaxed)
    }
}

/// Closes the held sockets and reports how much of the relay's memory for
/// them came back: the relay's RSS once they are gone, against its RSS
/// before the first socket and with all of them open.
async fn memory_returned(
    relay: &Proc,
    held: &Held,
    rss: (u64, u64),
    report: &mut Report,
) -> Result<()> {
    let (before, open) = rss;
    let ended = held.close_all(Duration::from_secs(60)).await;
    // The relay notices each close, drops the connection's task, socket
    // and queue; give it a moment, then read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = relay.rss_bytes()?;
    report.add("sockets.closed_by_loadgen", ended as f64, "sockets");
    report.add("sockets.rss_after_close", after as f64 / 1e6, "MB");
    let grown = open.saturating_sub(before);
    if grown > 0 {
        let returned = open.saturating_sub(after) as f64 / grown as f64;
        report.add("sockets.rss_returned_after_close", returned * 100.0, "%");
    }
    Ok(())
}

/// The file limit of this process (`ulimit -n`), from `/proc/self/limits`.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn sockets(
    api: &Api,
    relay: &Proc,
    args: &Args,
    holders: &[Account],
    probe: &(Account, String, ThreadKey),
    held: &mut Held,
    report: &mut Report,
) -> Result<(u64, u64)> {
    let limit = open_file_limit().unwrap_or(1024);
    // This process needs a descriptor per socket plus its HTTP pool; the
    // relay derives its own connection cap from the same limit.
    let budget = limit.saturating_sub(256);
    if args.sockets > budget {
        bail!(
            "--sockets {} does not fit this process's open-file limit of {limit} (at most {budget}); raise `ulimit -n` or ask for fewer",
            args.sockets
        );
    }
    report.add("sockets.open_file_limit", limit as f64, "descriptors");
    let url = api.ws_url();
    let mut samples: Vec<(usize, u64)> = Vec::new();
    let rss_before = relay.rss_bytes()?;
    samples.push((0, rss_before));
    report.add("sockets.rss_before", rss_before as f64 / 1e6, "MB");

    let first = args.sockets.min(1000);
    let opened_at = Instant::now();
    open_sockets(&url, holders, first, held, relay, &mut samples).await?;
    settle().await;
    let rss_first = relay.rss_bytes()?;
    samples.push((held.count, rss_first));
    let cpu_first = cpu_per_event(api, relay, probe, args.events, "a").await?;
    report.add(
        &format!("sockets.cpu_per_event_at_{first}"),
        cpu_first * 1e6,
        "us",
    );

    open_sockets(
        &url,
        holders,
        args.sockets - first,
        held,
        relay,
        &mut samples,
    )
    .await?;
    let open_seconds = opened_at.elapsed().as_secs_f64();
    settle().await;
    let rss_after = relay.rss_bytes()?;
    samples.push((held.count, rss_after));
    let n = held.count;
    let per_conn = rss_after.saturating_sub(rss_before) as f64 / n.max(1) as f64;
    report.add("sockets.held", n as f64, "sockets");
    report.add(
        "sockets.opened_per_second",
        n as f64 / open_seconds,
        "sockets/s",
    );
    report.add("sockets.rss_after", rss_after as f64 / 1e6, "MB");
    report.add("sockets.rss_per_connection", per_conn, "bytes");
    if n > first {
        let marginal = rss_after.saturating_sub(rss_first) as f64 / (n - first) as f64;
        report.add(
            &format!("sockets.rss_per_connection_{first}_to_{n}"),
            marginal,
            "bytes",
        );
    }
    report.add(
        "sockets.rss_extrapolated_100000",
        (rss_before as f64 + 100_000.0 * per_conn) / (1024.0 * 1024.0 * 1024.0),
        "GiB",
    );
    if n > first {
        let cpu_n = cpu_per_event(api, relay, probe, args.events, "b").await?;
        report.add(&format!("sockets.cpu_per_event_at_{n}"), cpu_n * 1e6, "us");
    }
    // Idle cost of the held sockets: CPU over two quiet seconds.
    let idle_from = relay.cpu_seconds()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = (relay.cpu_seconds()? - idle_from) / 2.0;
    report.add(&format!("sockets.idle_cpu_at_{n}"), idle * 100.0, "%");

    if let Some(out) = &args.out {
        let mut csv = String::from("connections,rss_bytes\n");
        for (c, r) in &samples {
            let _ = writeln!(csv, "{c},{r}");
        }
        write_out(
            out,
            &format!("{}-sockets-rss.csv", args.label),
            csv.as_bytes(),
        )?;
        let points: Vec<(f64, f64)> = samples
            .iter()
            .map(|&(c, r)| (c as f64, r as f64 / 1e6))
            .collect();
        chart(
            out,
            &format!("{}-sockets-rss.png", args.label),
            &[(format!("{}: relay RSS", args.label), points)],
            "connections",
            "relay RSS, MB",
        )?;
    }
    Ok((rss_before, rss_after))
}

/// Lets the relay finish the last handshakes before its RSS is read.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Opens `count` more sockets, 64 handshakes at a time, round-robin over
/// the holders' sessions, sampling the relay's RSS along the way.
async fn open_sockets(
    url: &str,
    holders: &[Account],
    count: usize,
    held: &mut Held,
    relay: &Proc,
    samples: &mut Vec<(usize, u64)>,
) -> Result<()> {
    if holders.is_empty() {
        bail!("no accounts to hold sockets");
    }
    let start = held.count;
    let mut opening = futures_util::stream::iter(0..count)
        .map(|i| {
            let account = &holders[(start + i) % holders.len()];
            async move { connect(url, account).await }
        })
        .buffer_unordered(64);
    let every = 500;
    while let Some(socket) = opening.next().await {
        held.hold(socket.with_context(|| format!("opening socket {}", held.count + 1))?);
        if held.count.is_multiple_of(every) {
            samples.push((held.count, relay.rss_bytes()?));
        }
    }
    Ok(())
}

/// Posts `k` messages one after another into the probe thread (no held
/// socket belongs to it); the relay's CPU seconds per message.
async fn cpu_per_event(
    api: &Api,
    relay: &Proc,
    probe: &(Account, String, ThreadKey),
    k: usize,
    run: &str,
) -> Result<f64> {
    let (patient, thread_id, key) = probe;
    let bodies = (0..k)
        .map(|i| envelope(patient, key, thread_id, &format!("probe-{run}-{i}")))
        .collect::<Result<Vec<_>>>()?;
    let before = relay.cpu_seconds()?;
    for body in &bodies {
        let status = api.post(&patient.token, thread_id, body).await?;
        if status != StatusCode::CREATED {
            bail!("probe message: {status}");
        }
    }
    let after = relay.cpu_seconds()?;
    Ok((after - before) / k.max(1) as f64)
}

// ───────────────────────────── messages ─────────────────────────────

async fn messages(
    api: &Api,
    relay: &Proc,
    args: &Args,
    clinic: &Account,
    senders: &[(Account, String, ThreadKey)],
    held: &Held,
    report: &mut Report,
) -> Result<()> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    if args.rate > 0 {
        let total = usize::try_from(u64::from(args.rate) * args.seconds)?;
        let name = format!("messages.at_{}", args.rate);
        let latencies = message_run(
            api,
            relay,
            clinic,
            senders,
            held,
            &name,
            Some(args.rate),
            total,
            FIXED_RATE_IN_FLIGHT,
            report,
        )
        .await?;
        lines.push((format!("at {} msg/s", args.rate), graph_cdf(&latencies)));
        if let Some(out) = &args.out {
            write_latencies(out, &format!("{}-{name}", args.label), &latencies)?;
        }
    }
    if args.max_messages > 0 {
        let name = "messages.max";
        let latencies = message_run(
            api,
            relay,
            clinic,
            senders,
            held,
            name,
            None,
            args.max_messages,
            args.concurrency,
            report,
        )
        .await?;
        let in_flight = args.concurrency;
        lines.push((format!("max, {in_flight} in flight"), graph_cdf(&latencies)));
        if let Some(out) = &args.out {
            write_latencies(out, &format!("{}-{name}", args.label), &latencies)?;
        }
    }
    if let Some(out) = &args.out {
        chart(
            out,
            &format!("{}-latency-cdf.png", args.label),
            &lines,
            "delivery latency, ms",
            "fraction delivered",
        )?;
    }
    Ok(())
}

/// Latency percentiles as (ms, fraction) points, for a CDF.
fn cdf(latencies: &[f64]) -> Vec<(f64, f64)> {
    let n = latencies.len();
    (0..=100)
        .filter_map(|p| {
            let at = (n.saturating_sub(1) * p) / 100;
            latencies.get(at).map(|&ms| (ms, p as f64 / 100.0))
        })
        .collect()
}

/// The CDF up to the 99th percentile: the slowest 1% would stretch the
/// graph's latency axis until the rest is a vertical line (the CSV and the
/// `latency_max` result keep them).
fn graph_cdf(latencies: &[f64]) -> Vec<(f64, f64)> {
    let mut points = cdf(latencies);
    points.retain(|&(_, fraction)| fraction <= 0.99);
    points
}

/// The latency distribution as percentiles (0 to 100), not every sample.
fn write_latencies(out: &Path, name: &str, latencies: &[f64]) -> Result<()> {
    let mut csv = String::from("percentile,latency_ms\n");
    for (ms, fraction) in cdf(latencies) {
        let _ = writeln!(csv, "{:.0},{ms:.3}", fraction * 100.0);
    }
    write_out(out, &format!("{name}-latency.csv"), csv.as_bytes())
}

/// Writes a line chart (its axes titled and valued, its series named) and
/// says what it shows.
fn chart(
    dir: &Path,
    name: &str,
    series: &[(String, Vec<(f64, f64)>)],
    x: &str,
    y: &str,
) -> Result<()> {
    let drawn = png::Chart { series, x, y };
    write_out(dir, name, &png::line_chart(&drawn, 800, 500))?;
    let points = series.iter().flat_map(|(_, points)| points);
    let x_max = png::axis_max(points.clone().map(|p| p.0).fold(0.0, f64::max));
    let y_max = png::axis_max(points.map(|p| p.1).fold(0.0, f64::max));
    println!(
        "GRAPH {name}: x {x} from 0 to {x_max} (grid every {}), y {y} from 0 to {y_max} (grid every {}); {} series",
        x_max / 4.0,
        y_max / 4.0,
        series.len()
    );
    Ok(())
}

fn write_out(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("{}", path.display()))
}

/// Posts `total` pre-sealed messages round-robin over the senders' threads
/// (at `rate` per second, or as fast as `concurrency` posts in flight
/// allow), and times each from the start of its post to its frame on the
/// clinic's WebSocket. Sorted latencies in ms.
#[allow(clippy::too_many_arguments)]
async fn message_run(
    api: &Api,
    relay: &Proc,
    clinic: &Account,
    senders: &[(Account, String, ThreadKey)],
    held: &Held,
    name: &str,
    rate: Option<u32>,
    total: usize,
    concurrency: usize,
    report: &mut Report,
) -> Result<Vec<f64>> {
    if senders.is_empty() {
        bail!("no senders");
    }
    let run_id = name.replace('.', "-");
    let mut bodies = Vec::with_capacity(total);
    for i in 0..total {
        let (patient, thread_id, key) = &senders[i % senders.len()];
        let message_id = format!("{run_id}-{i}");
        bodies.push((
            i % senders.len(),
            message_id.clone(),
            envelope(patient, key, thread_id, &message_id)?,
        ));
    }

    // The recipient: one clinic socket, which every sender's thread reaches.
    let mut socket = connect(&api.ws_url(), clinic).await?;
    let started: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let receiver = {
        let started = Arc::clone(&started);
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(total);
            let mut done_rx_opt = None;
            loop {
                let frame = tokio::select! {
                    frame = socket.next() => frame,
                    _ = &mut done_rx, if done_rx_opt.is_none() => {
                        done_rx_opt = Some(());
                        continue;
                    }
                    () = tokio::time::sleep(Duration::from_secs(5)), if done_rx_opt.is_some() => break,
                };
                let Some(Ok(Message::Text(text))) = frame else {
                    if matches!(frame, None | Some(Err(_))) {
                        break;
                    }
                    continue;
                };
                let arrived = Instant::now();
                if let Ok(Event::Message { message, .. }) = serde_json::from_str::<Event>(&text) {
                    let sent = started
                        .lock()
                        .ok()
                        .and_then(|mut map| map.remove(&message.message_id));
                    if let Some(sent) = sent {
                        latencies.push(arrived.duration_since(sent).as_secs_f64() * 1e3);
                    }
                    if latencies.len() == total {
                        break;
                    }
                }
            }
            latencies
        })
    };

    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let stored = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    // Both processes share the machine's cores: the relay's CPU per stored
    // message, and this process's share, say how much of the run was load
    // generation.
    let me = Proc::new(std::process::id())?;
    let (relay_cpu_from, my_cpu_from) = (relay.cpu_seconds()?, me.cpu_seconds()?);
    let began = Instant::now();
    let mut posts = Vec::with_capacity(total);
    for (i, (sender, message_id, body)) in bodies.into_iter().enumerate() {
        if let Some(rate) = rate {
            let due = began + Duration::from_secs_f64(i as f64 / f64::from(rate));
            let now = Instant::now();
            if due > now {
                tokio::time::sleep_until(due.into()).await;
            } else if now.duration_since(due) > Duration::from_millis(10) {
                late.fetch_add(1, Ordering::Relaxed);
            }
        }
        let permit = Arc::clone(&slots).acquire_owned().await?;
        let (patient, thread_id, _) = &senders[sender];
        let http = api.http.clone();
        let url = format!("{}/v1/threads/{thread_id}/messages", api.base);
        let token = patient.token.clone();
        let (started, stored, failed) = (
            Arc::clone(&started),
            Arc::clone(&stored),
            Arc::clone(&failed),
        );
        posts.push(tokio::spawn(async move {
            if let Ok(mut map) = started.lock() {
                map.insert(message_id, Instant::now());
            }
            let ok = match http.post(url).bearer_auth(token).json(&body).send().await {
                Ok(response) => response.status() == StatusCode::CREATED,
                Err(_) => false,
            };
            if ok {
                stored.fetch_add(1, Ordering::Relaxed);
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
            Instant::now()
        }));
    }
    let mut last = began;
    for post in posts {
        last = last.max(post.await?);
    }
    let seconds = last.duration_since(began).as_secs_f64();
    let relay_cpu = relay.cpu_seconds()? - relay_cpu_from;
    let my_cpu = me.cpu_seconds()? - my_cpu_from;
    let _ = done_tx.send(());
    let mut latencies = receiver.await?;
    latencies.sort_by(f64::total_cmp);

    let stored = stored.load(Ordering::Relaxed);
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let at = ((latencies.len() - 1) as f64 * p).round() as usize;
        latencies[at.min(latencies.len() - 1)]
    };
    report.add(
        &format!("{name}.sockets_held"),
        held.count as f64,
        "sockets",
    );
    if let Some(rate) = rate {
        report.add(&format!("{name}.offered"), f64::from(rate), "msg/s");
        report.add(
            &format!("{name}.posted_late"),
            late.load(Ordering::Relaxed) as f64,
            "msgs",
        );
    } else {
        report.add(&format!("{name}.concurrency"), concurrency as f64, "posts");
    }
    report.add(&format!("{name}.stored"), stored as f64, "msgs");
    report.add(
        &format!("{name}.failed"),
        failed.load(Ordering::Relaxed) as f64,
        "msgs",
    );
    report.add(
        &format!("{name}.stored_per_second"),
        stored as f64 / seconds,
        "msg/s",
    );
    report.add(&format!("{name}.delivered"), latencies.len() as f64, "msgs");
    report.add(
        &format!("{name}.relay_cpu_per_message"),
        relay_cpu / stored.max(1) as f64 * 1e6,
        "us",
    );
    report.add(
        &format!("{name}.relay_cpu"),
        relay_cpu / seconds * 100.0,
        "%",
    );
    report.add(
        &format!("{name}.loadgen_cpu"),
        my_cpu / seconds * 100.0,
        "%",
    );
    report.add(&format!("{name}.latency_p50"), percentile(0.50), "ms");
    report.add(&format!("{name}.latency_p99"), percentile(0.99), "ms");
    report.add(
        &format!("{name}.latency_max"),
        latencies.last().copied().unwrap_or(f64::NAN),
        "ms",
    );
    Ok(latencies)
}

// ───────────────────────────── parts ─────────────────────────────

/// Uploads `args.parts` parts of `args.part_size` bytes (64 parts per
/// upload, 4 in flight), finalizing each upload.
async fn parts(api: &Api, args: &Args, uploader: &Account, report: &mut Report) -> Result<()> {
    const PER_UPLOAD: usize = 64;
    const IN_FLIGHT: usize = 4;
    // Incompressible, like ciphertext.
    let mut bytes = Vec::with_capacity(args.part_size);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < args.part_size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(args.part_size);

    let began = Instant::now();
    let mut uploaded = 0usize;
    while uploaded < args.parts {
        let count = (args.parts - uploaded).min(PER_UPLOAD);
        let created: UploadCreated = api
            .call(
                Method::POST,
                "/v1/uploads",
                Some(&uploader.token),
                Some(&CreateUploadRequest {
                    size: u64::try_from(count * args.part_size)?,
                    part_count: u32::try_from(count)?,
                }),
                StatusCode::CREATED,
            )
            .await?;
        let upload_id = created.upload_id;
        let results: Vec<Result<()>> = futures_util::stream::iter(0..count)
            .map(|index| {
                let request = api
                    .http
                    .put(format!("{}/v1/uploads/{upload_id}/parts/{index}", api.base))
                    .bearer_auth(&uploader.token)
                    .body(bytes.clone());
                async move {
                    let status = request.send().await?.status();
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err(anyhow!("PUT part {index}: {status}"))
                    }
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>>>()?;
        let response = api
            .http
            .post(format!("{}/v1/uploads/{upload_id}/finalize", api.base))
            .bearer_auth(&uploader.token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("finalize: {}", response.status());
        }
        uploaded += count;
    }
    let seconds = began.elapsed().as_secs_f64();
    report.add("parts.uploaded", uploaded as f64, "parts");
    report.add("parts.part_size", args.part_size as f64, "bytes");
    report.add("parts.per_second", uploaded as f64 / seconds, "parts/s");
    report.add(
        "parts.throughput",
        (uploaded * args.part_size) as f64 / seconds / 1e6,
        "MB/s",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_runs_from_the_fastest_to_the_slowest() {
        let latencies: Vec<f64> = (1..=1000).map(f64::from).collect();
        let points = cdf(&latencies);
        assert_eq!(points.len(), 101);
        assert_eq!(points[0], (1.0, 0.0));
        assert_eq!(points[50], (500.0, 0.5));
        assert_eq!(points[100], (1000.0, 1.0));
        assert!(graph_cdf(&latencies).iter().all(|p| p.1 <= 0.99));
        assert!(cdf(&[]).is_empty());
    }

    #[test]
    fn values_print_plainly() {
        assert_eq!(fmt_value(17_000.0), "17000");
        assert_eq!(fmt_value(882.54), "882.5");
        assert_eq!(fmt_value(0.9541), "0.954");
    }

    #[test]
    fn this_process_has_rss_and_cpu_time_in_proc() {
        let me = Proc::new(std::process::id()).unwrap();
        assert!(me.rss_bytes().unwrap() > 0);
        assert!(me.cpu_seconds().unwrap() >= 0.0);
        assert!(open_file_limit().is_some());
    }
}
