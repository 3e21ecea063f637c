//! Configuration: defaults that make `cargo xtask dev` work with nothing
//! set but `--dev`, overridden by a TOML file (`--config`), then by environment
//! variables and command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything the relay can be told.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory for the SQLite file, the setup code and development sinks.
    pub data: PathBuf,
    /// The database: unset for the embedded SQLite file in `data` (the
    /// default, right for one relay), or `postgres://user:password@host/db`
    /// for PostgreSQL, which several relay instances can share. The
    /// directory `data` is still used for the secret key file and, in
    /// development mode, the code outbox.
    pub database_url: Option<DatabaseUrl>,
    /// The built web client (`dist/`), served beside the API when set.
    #[serde(rename = "static")]
    pub static_dir: Option<PathBuf>,
    /// The origin patients open Ward at (`https://ward.example`); passkeys
    /// are bound to its host name. On `localhost`, any port is accepted.
    pub public_origin: String,
    /// PEM certificate chain: with `tls_key`, the relay serves HTTPS itself
    /// (rustls) for deployments without a TLS-terminating proxy.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Send one-time codes by e-mail through this server. Without it the
    /// relay starts only in development mode (`dev`), where codes go to the
    /// development outbox file `DATA/dev-outbox.log`.
    pub smtp: Option<SmtpConfig>,
    /// Development mode (`--dev`): without `smtp`, one-time codes are
    /// written to `DATA/dev-outbox.log` instead of being sent. Off by
    /// default; a relay without `smtp` and without `dev` refuses to start.
    pub dev: bool,
    /// A file holding the relay's secret (32 bytes, or 64 hex characters),
    /// kept out of the database: TOTP seeds are sealed and short codes
    /// hashed under keys derived from it. Unset: `DATA/relay-secret.key`,
    /// created on first start. Keep it (and back it up) with the database:
    /// without it, authenticator apps set up on this relay stop working.
    pub secret_key_file: Option<PathBuf>,
    /// Sites allowed to embed Ward in an iframe (CSP `frame-ancestors`),
    /// e.g. `["https://riverside-clinic.example"]`. Ward itself is always allowed.
    pub frame_ancestors: Vec<String>,
    /// A session ends after this long without a request.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_hours: u64,
    /// How long a patient invite stays valid.
    pub invite_valid_hours: u64,
    /// How long a one-time code stays valid.
    pub code_valid_minutes: u64,
    /// When the clinic reads messages, shown to patients before their first
    /// message, e.g. `"Monday to Friday, 8 am to 5 pm"`. Not shown when unset.
    /// Free text: at most 200 characters (after trimming), no line breaks or
    /// other control characters; empty means unset.
    pub office_hours: Option<String>,
    /// How soon patients can expect a reply, shown beside `office_hours`,
    /// e.g. `"within two business days"`. Same limits; must not be empty.
    pub reply_time: String,
    /// What patients are told to do in an emergency, shown before their first
    /// message and when their draft may describe an emergency. Free text: at
    /// most 300 characters (after trimming), no line breaks or other control
    /// characters; must not be empty.
    pub emergency_notice: String,
    /// The three texts above in other languages, as `[clinic_texts.es]`
    /// tables of `office_hours`, `reply_time`, `emergency_notice`; only the
    /// languages the client speaks besides English (`es`). A text left out
    /// is shown in English, except that a `reply_time` or
    /// `emergency_notice` still at its default has the relay's own
    /// translation. Same limits as the English texts.
    pub clinic_texts: std::collections::BTreeMap<String, ClinicTexts>,
    /// The version of the clinic's consent to messaging, as the clinic
    /// names it (`"2026-12"`, `"v3"`): 1 to 40 letters, digits, `.`, `-`
    /// or `_`. Change it with the text: every acceptance records both.
    pub consent_version: String,
    /// The clinic's consent to messaging, shown at enrollment before the
    /// passkey is made and in Settings: plain text, paragraphs separated by
    /// blank lines, at most 8000 characters, no control characters but
    /// line breaks.
    pub consent_text: String,
    /// The version of the caregiver terms, named as `consent_version` is.
    pub caregiver_consent_version: String,
    /// What a patient agrees to when they invite a caregiver, and a patient
    /// aged 13 to 17 when they agree to a guardian the clinic appointed:
    /// shown before they do, recorded (version and SHA-256) in their access
    /// log. The same rules as `consent_text`.
    pub caregiver_consent_text: String,
    /// The largest attachment accepted, in plaintext bytes (the relay
    /// refuses an upload whose encrypted size is larger than such a file's).
    /// Sent to clients in `GET /v1/clinic`, so they can refuse a file before
    /// encrypting it.
    pub max_attachment_bytes: u64,
    /// How many bytes of attachments (encrypted, as uploaded) one patient
    /// may keep, together with the caregivers they invited (the clinic: its
    /// own account): finalized blobs plus unfinished uploads.
    pub attachment_quota_bytes: u64,
    /// Media types patients may attach, sent to clients in `GET /v1/clinic`.
    /// The relay cannot enforce this (a file's type travels inside the
    /// encryption): clients refuse other files before encrypting them.
    pub allowed_attachment_types: Vec<String>,
    /// Where attachment blobs are stored: unset for `<data>/blobs` on local
    /// disk, `file:///absolute/path` for another directory, or
    /// `s3://bucket/prefix` for an S3-compatible bucket (credentials,
    /// region and endpoint from the usual `AWS_*` environment variables;
    /// another server than AWS's is `AWS_ENDPOINT_URL`, with
    /// `AWS_ALLOW_HTTP=true` if it is `http://`, addressed path-style: see
    /// [`crate::blobs::BlobStore::open_with_env`]).
    pub blob_store: Option<String>,
    /// An upload that is not finalized this many hours after it began is
    /// deleted.
    pub upload_expiry_hours: u64,
    /// A finalized blob that no message references this many days after it
    /// was finalized is deleted.
    pub unattached_blob_expiry_days: u64,
    /// The reverse proxies in front of the relay (addresses or CIDR blocks,
    /// e.g. `["127.0.0.1", "10.0.0.0/8"]`). Only a request from one of
    /// these has its `X-Forwarded-For` believed: the client is then the
    /// right-most address in it that is not a trusted proxy. Empty (the
    /// default): the TCP peer is the client, and forwarded headers are
    /// ignored. Behind a proxy, set this, or every client shares the
    /// proxy's address (for per-address limits and the loopback-only
    /// `/metrics`, which then refuses forwarded requests).
    pub trusted_proxies: Vec<String>,
    /// The most connections served at once (WebSockets included). Unset
    /// (the default), it is derived from the process's open-file limit
    /// (`RLIMIT_NOFILE`, soft) at start: the limit less a tenth and less
    /// 64, which leaves descriptors for the database, blob files, the
    /// listener, outgoing mail and storage connections and the refusal
    /// reserve (1024 where the limit cannot be read). A connection past the
    /// cap is answered at once with 503 `over_capacity` and `Retry-After`
    /// and closed, from a small reserve of [`REFUSAL_RESERVE`] that holds
    /// no slot (`/healthz` is still served from it); past that reserve too,
    /// it is closed unanswered. The timeouts below make sure stalled
    /// connections give their slots back.
    pub max_connections: Option<u32>,
    /// A client must send a request's headers within this many seconds of
    /// connecting (TLS handshake included), and over HTTP/1.1 within this
    /// long of its previous response, or the connection is closed. This
    /// also closes an HTTP/1.1 keep-alive connection idle this long.
    pub header_read_timeout_seconds: u64,
    /// A request's body must arrive whole within this many seconds of its
    /// headers (408 `body_timeout` otherwise, and the connection closes).
    /// Bodies are at most an attachment part (2 MiB): the default, 120,
    /// allows about 17 KB/s.
    pub body_read_timeout_seconds: u64,
    /// A connection with no request in progress for this many seconds is
    /// closed (HTTP/2 connections, and any connection that never completes
    /// a request; HTTP/1.1 ones are closed sooner by
    /// `header_read_timeout_seconds`). WebSockets are not idle connections:
    /// they end when their session does.
    pub idle_timeout_seconds: u64,
    /// How many live events may wait for one WebSocket client. A client that
    /// falls this far behind (or leaves one frame unread for 30 s) is
    /// disconnected; it catches up by cursor when it reconnects.
    pub websocket_send_queue: usize,
    /// How many threads one patient may start in 24 hours (counted
    /// atomically with each start). Only patients start threads; the
    /// clinic and caregivers reply in them.
    pub max_threads_per_day: u32,
    /// Delete messages (their ciphertext envelopes, attachment references
    /// and then attachment blobs) this many years after the relay received
    /// them. Unset (the default): keep everything forever. A year counts
    /// as 366 days, so nothing goes early; the sweep runs at start and
    /// every ten minutes, oldest messages of each thread first. A thread
    /// any current or past member of which the clinic put on legal hold
    /// (`PUT /v1/accounts/{id}/legal-hold`) keeps everything while the
    /// hold lasts. Each deletion is logged (thread, seq range, count). The
    /// relay cannot reach copies on members' devices or in backups of its
    /// database: retention here is the relay's copy only.
    pub retention_years: Option<u32>,
    /// Thread categories that are "Only me" by rule: such a thread is
    /// never shared with a caregiver, whoever the patient is, and the
    /// patient cannot turn Only me off for it. Names as in the API
    /// (`"confidential"`, `"billing"`...). Default `["confidential"]`,
    /// which must stay in the list (the app calls it "never shared").
    pub sensitive_categories: Vec<String>,
    /// The Web Push services the relay sends to (docs/push.md): origins
    /// (`https://fcm.googleapis.com`), one leading `*.` label allowed
    /// (`https://*.notify.windows.com`). A subscription whose endpoint is on
    /// any other origin is refused, so the relay never posts to an address
    /// a client chose. `http://` only when listed (tests). Default:
    /// [`DEFAULT_PUSH_SERVICES`].
    pub push_services: Vec<String>,
    /// The relay's VAPID private key (P-256: 32 bytes, or 64 hex or 43
    /// base64url characters). Unset: `DATA/vapid.key`, created on first
    /// start. Relays sharing a database must share it: subscriptions are
    /// bound to its public key.
    pub vapid_key_file: Option<PathBuf>,
    /// The contact in the VAPID token's `sub` (`mailto:...` or
    /// `https://...`), for push services to reach the operator. Unset: the
    /// public origin.
    pub push_contact: Option<String>,
}

/// `push_services` when none is configured: Google's (Chrome, Edge on
/// Android), Mozilla's, Apple's and Microsoft's (Edge on Windows).
pub const DEFAULT_PUSH_SERVICES: [&str; 4] = [
    "https://fcm.googleapis.com",
    "https://updates.push.services.mozilla.com",
    "https://web.push.apple.com",
    "https://*.notify.windows.com",
];

/// Checks a `push_services` entry: an origin as browsers write it
/// (`scheme://host[:port]`, lower case, no path), `https://` or `http://`,
/// with at most one leading `*.` label.
fn push_service(entry: &str) -> Result<(), ConfigError> {
    let refuse = |why: &str| {
        Err(ConfigError::Invalid(format!(
            "push_services entry {entry:?} {why}. Write each push service as its origin, like \"https://fcm.googleapis.com\" or \"https://*.notify.windows.com\""
        )))
    };
    let (scheme, rest) = match entry.split_once("://") {
        Some((scheme @ ("https" | "http"), rest)) => (scheme, rest),
        _ => return refuse("is not an https:// (or http://) origin"),
    };
    let concrete = match rest.strip_prefix("*.") {
        Some(tail) => format!("{scheme}://wildcard.{tail}"),
        None => entry.to_owned(),
    };
    if concrete.contains('*') {
        return refuse("has a wildcard other than one leading \"*.\" label");
    }
    let Ok(url) = url::Url::parse(&concrete) else {
        return refuse("is not an origin");
    };
    if url.origin().ascii_serialization() != concrete {
        return refuse(
            "is not exactly an origin (a path, a trailing slash, a user name, upper case or a default port)",
        );
    }
    Ok(())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("data"),
            database_url: None,
            static_dir: None,
            public_origin: "http://localhost:8080".into(),
            tls_cert: None,
            tls_key: None,
            smtp: None,
            dev: false,
            secret_key_file: None,
            frame_ancestors: Vec::new(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            invite_valid_hours: 72,
            code_valid_minutes: 10,
            office_hours: None,
            reply_time: DEFAULT_REPLY_TIME.into(),
            emergency_notice: DEFAULT_EMERGENCY_NOTICE.into(),
            clinic_texts: std::collections::BTreeMap::new(),
            consent_version: DEFAULT_CONSENT_VERSION.into(),
            consent_text: DEFAULT_CONSENT_TEXT.into(),
            caregiver_consent_version: DEFAULT_CAREGIVER_CONSENT_VERSION.into(),
            caregiver_consent_text: DEFAULT_CAREGIVER_CONSENT_TEXT.into(),
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            attachment_quota_bytes: DEFAULT_ATTACHMENT_QUOTA_BYTES,
            allowed_attachment_types: DEFAULT_ATTACHMENT_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            blob_store: None,
            upload_expiry_hours: 24,
            unattached_blob_expiry_days: 7,
            trusted_proxies: Vec::new(),
            max_connections: None,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 120,
            idle_timeout_seconds: 60,
            websocket_send_queue: 64,
            max_threads_per_day: DEFAULT_MAX_THREADS_PER_DAY,
            retention_years: None,
            sensitive_categories: vec!["confidential".into()],
            push_services: DEFAULT_PUSH_SERVICES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            vapid_key_file: None,
            push_contact: None,
        }
    }
}

/// A database address. It may carry a password, so its `Debug` shows only
/// the scheme and host.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    /// The address, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Scheme and host only (no user, password, port, path or options).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(url) => format!("{}://{}/…", url.scheme(), url.host_str().unwrap_or("")),
            Err(_) => "(not a URL)".to_owned(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// `max_connections` when none is configured and the open-file limit
/// cannot be read.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
/// Connections past `max_connections` answered 503 at once; more than
/// these at the same moment are closed unanswered.
pub const REFUSAL_RESERVE: usize = 32;

/// The default `max_connections` for an open-file limit of `nofile`: a
/// tenth and 64 descriptors kept back (see [`Config::max_connections`]),
/// at least 1.
pub fn max_connections_for_open_files(nofile: u64) -> u32 {
    let cap = nofile.saturating_sub(nofile / 10).saturating_sub(64).max(1);
    u32::try_from(cap).unwrap_or(u32::MAX)
}
/// `max_threads_per_day` when none is configured.
pub const DEFAULT_MAX_THREADS_PER_DAY: u32 = 20;

/// `max_attachment_bytes` when none is configured: 100 MB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 100_000_000;

/// `attachment_quota_bytes` when none is configured: 1 GB.
pub const DEFAULT_ATTACHMENT_QUOTA_BYTES: u64 = 1_000_000_000;

/// `allowed_attachment_types` when none is configured: photos and PDFs.
pub const DEFAULT_ATTACHMENT_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/webp",
    "application/pdf",
];

/// Whether `value` looks like a media type: `type/subtype`, lower case,
/// letters, digits and `.+-_` only (no parameters).
fn is_media_type(value: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&^_.+-".contains(&b))
    };
    value
        .split_once('/')
        .is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

/// An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`): an entry of
/// `trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

impl IpBlock {
    /// Parses `192.0.2.1`, `192.0.2.0/24`, `2001:db8::1` or `2001:db8::/32`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network = canonical(addr.parse::<IpAddr>().ok()?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// `reply_time` when none is configured.
pub const DEFAULT_REPLY_TIME: &str = "within one business day";

/// `emergency_notice` when none is configured.
pub const DEFAULT_EMERGENCY_NOTICE: &str =
    "If this is an emergency, call 911. For a mental health crisis, call or text 988.";

/// `consent_version` when none is configured.
pub const DEFAULT_CONSENT_VERSION: &str = "ward-default-1";

/// `consent_text` when none is configured: what any clinic's text must say
/// at least. A clinic configures its own, reviewed by its counsel.
pub const DEFAULT_CONSENT_TEXT: &str = "Messaging your care team through Ward

Ward is for questions that are not urgent. Your care team reads messages during office hours and answers within the time shown in the app. In an emergency, call 911; never wait for a message.

Your messages and files are encrypted on your device. The clinic's staff who care for you read them, and they may become part of your medical record.

You can let a caregiver read or send for you, and stop that at any time. Ward records who signed in to your account and who read, sent or downloaded in your conversations, and shows you that record.

You can withdraw this consent at any time in Settings. Messaging then stops for your account; nothing you sent is deleted. You can always call the clinic instead.";

/// `caregiver_consent_version` when none is configured.
pub const DEFAULT_CAREGIVER_CONSENT_VERSION: &str = "ward-caregiver-1";

/// `caregiver_consent_text` when none is configured.
pub const DEFAULT_CAREGIVER_CONSENT_TEXT: &str = "Letting someone help you with your messages

The person you invite, or the guardian the clinic appointed for you, gets their own account. They never use your passkey or your recovery code.

They can read the conversations you share with them: the ones you choose, or all of them if you choose that. Conversations you keep Only me, and confidential ones, are never shared. They can also send for you, unless you make them read only; everyone sees that they wrote for you.

Their access ends after the time you choose (12 months unless you change it, 18 at most). You can change it, or end it at once, at any time in People who help me. What they read before, they may have kept.

Ward records what they read, send and download in your conversations, and shows you that record in Activity.";

/// The most characters `consent_text` may have.
pub const CONSENT_TEXT_MAX_CHARS: usize = 8000;

/// Checks a consent's `{name}_version` and `{name}_text`.
fn check_consent(name: &str, version: &str, text: &str) -> Result<(), ConfigError> {
    if version.is_empty()
        || version.len() > 40
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(ConfigError::Invalid(format!(
            "{name}_version {version:?} must be 1 to 40 letters, digits, '.', '-' or '_'"
        )));
    }
    let text = text.trim();
    let chars = text.chars().count();
    if text.is_empty()
        || chars > CONSENT_TEXT_MAX_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(ConfigError::Invalid(format!(
            "{name}_text must be 1 to {CONSENT_TEXT_MAX_CHARS} characters without control characters other than line breaks; it is {chars}"
        )));
    }
    Ok(())
}

/// The most characters `office_hours` and `reply_time` may have.
pub const CLINIC_TEXT_MAX_CHARS: usize = 200;

/// The most characters `emergency_notice` may have.
pub const EMERGENCY_NOTICE_MAX_CHARS: usize = 300;

/// One language's clinic texts (`[clinic_texts.es]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicTexts {
    /// `office_hours` in that language.
    pub office_hours: Option<String>,
    /// `reply_time` in that language.
    pub reply_time: Option<String>,
    /// `emergency_notice` in that language.
    pub emergency_notice: Option<String>,
    /// `consent_text` in that language: the same version, said in it. A
    /// patient agrees to the text in the language they read, and the
    /// relay keeps that text by its hash.
    pub consent_text: Option<String>,
    /// `caregiver_consent_text` in that language, likewise.
    pub caregiver_consent_text: Option<String>,
}

/// The languages the web client speaks besides English, which
/// `clinic_texts` may be given in.
pub const CLINIC_TEXT_LANGUAGES: [&str; 1] = ["es"];

/// The relay's Spanish for its default `reply_time`.
const DEFAULT_REPLY_TIME_ES: &str = "en un plazo de un día hábil";
/// The relay's Spanish for its default `emergency_notice`.
const DEFAULT_EMERGENCY_NOTICE_ES: &str = "Si es una emergencia, llame al 911. Si tiene una crisis de salud mental, llame o envíe un mensaje de texto al 988.";

/// The relay's Spanish for its default `consent_text`.
const DEFAULT_CONSENT_TEXT_ES: &str = "Mensajes con su equipo de atención a través de Ward

Ward es para preguntas que no son urgentes. Su equipo de atención lee los mensajes en horario de oficina y responde en el plazo que indica la aplicación. En una emergencia, llame al 911; nunca espere un mensaje.

Sus mensajes y archivos se cifran en su dispositivo. Los lee el personal de la clínica que le atiende, y pueden pasar a formar parte de su expediente médico.

Puede permitir que una persona de confianza lea o envíe mensajes por usted, y dejar de permitirlo cuando quiera. Ward registra quién inició sesión en su cuenta y quién leyó, envió o descargó algo en sus conversaciones, y le muestra ese registro.

Puede retirar este consentimiento cuando quiera en Configuración. Los mensajes de su cuenta se detienen entonces; no se borra nada de lo que envió. Siempre puede llamar a la clínica.";

/// The relay's Spanish for its default `caregiver_consent_text`.
const DEFAULT_CAREGIVER_CONSENT_TEXT_ES: &str = "Permitir que alguien le ayude con sus mensajes

La persona que usted invite, o el tutor que la clínica le asignó, tiene su propia cuenta. Nunca usa su llave de acceso ni su código de recuperación.

Puede leer las conversaciones que usted comparta con ella: las que elija, o todas si así lo decide. Las conversaciones que usted mantiene en Solo yo, y las confidenciales, nunca se comparten. También puede enviar mensajes por usted, salvo que le permita solo leer; todos ven que escribió por usted.

Su acceso termina después del tiempo que usted elija (12 meses si no lo cambia, 18 como máximo). Puede cambiarlo, o terminarlo de inmediato, cuando quiera en Personas que me ayudan. Lo que haya leído antes, puede haberlo guardado.

Ward registra lo que lee, envía y descarga en sus conversaciones, y le muestra ese registro en Actividad.";

/// A consent text in `lang`: the clinic's (`given`, trimmed), else the
/// relay's Spanish (`default_es`) while the English is the relay's default.
fn translated(
    given: Option<&str>,
    lang: &str,
    english_is_default: bool,
    default_es: &str,
) -> Option<String> {
    given
        .map(|text| text.trim().to_owned())
        .or_else(|| (english_is_default && lang == "es").then(|| default_es.to_owned()))
}

/// Checks a free-text setting shown to patients: trimmed, at most
/// `max_chars` characters, no control characters. The trimmed text, or an
/// error naming `option`.
fn clinic_text<'a>(option: &str, value: &'a str, max_chars: usize) -> Result<&'a str, ConfigError> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ConfigError::Invalid(format!(
            "{option} is {chars} characters long; patients are shown at most {max_chars}. Shorten it"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ConfigError::Invalid(format!(
            "{option} {value:?} contains a line break, tab or other control character; write it on one line"
        )));
    }
    Ok(value)
}

/// Checks a `frame_ancestors` entry: exactly an origin as browsers write it
/// (`scheme://host[:port]`: no path, no trailing slash, no wildcard, lower
/// case), `https://`, or `http://` only for `localhost` or `127.0.0.1`.
fn exact_frame_ancestor(entry: &str) -> Result<(), ConfigError> {
    let refuse = |why: &str| {
        Err(ConfigError::Invalid(format!(
            "frame_ancestors entry {entry:?} {why}. Write each allowed site exactly as its origin, like \"https://clinic.example\" or \"https://clinic.example:8443\" (http:// only for localhost or 127.0.0.1)"
        )))
    };
    if entry.contains('*') {
        return refuse("contains a wildcard; list every site by its exact origin");
    }
    let Ok(url) = url::Url::parse(entry) else {
        return refuse("is not an origin");
    };
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => {}
        "http" if host == "localhost" || host == "127.0.0.1" => {}
        "http" => {
            return refuse(
                "is not https:// (plain http:// is allowed only for localhost and 127.0.0.1)",
            );
        }
        _ => return refuse("is not an https:// origin"),
    }
    if url.origin().ascii_serialization() != entry {
        return refuse(
            "is not exactly an origin (a path, a trailing slash, a user name, upper case or a default port)",
        );
    }
    Ok(())
}

/// An SMTP server for one-time codes (`[smtp]` in the TOML file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name.
    pub host: String,
    /// Its port (587 for STARTTLS, 25 for plain relaying on a trusted network).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The sender, e.g. `Ward <no-reply@clinic.example>`.
    pub from: String,
    /// Upgrade the connection with STARTTLS (on by default).
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// The environment variable holding the password (never the file).
    pub password_env: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_true() -> bool {
    true
}

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("could not read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this relay.
    #[error("the configuration file {path} is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, from the TOML parser (names the key and line).
        message: String,
    },
    /// A value is out of range.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Whether threads in `category` are "Only me" by rule.
    pub fn is_sensitive(&self, category: ward_proto::threads::Category) -> bool {
        let name = ward_proto::threads::category::name(category);
        self.sensitive_categories.iter().any(|s| s == name)
    }

    /// Defaults overridden by `path`'s TOML.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Refuses values that would make the relay unsafe or useless.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            return Err(ConfigError::Invalid(
                "session timeouts must be at least 1".into(),
            ));
        }
        if self.invite_valid_hours == 0 || self.code_valid_minutes == 0 {
            return Err(ConfigError::Invalid(
                "invite and code lifetimes must be at least 1".into(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "set both tls_cert and tls_key, or neither".into(),
            ));
        }
        let origin = url::Url::parse(&self.public_origin).map_err(|e| {
            ConfigError::Invalid(format!(
                "public_origin {:?} is not a URL: {e}",
                self.public_origin
            ))
        })?;
        let secure = origin.scheme() == "https" || origin.host_str() == Some("localhost");
        if !secure || origin.host_str().is_none() {
            return Err(ConfigError::Invalid(format!(
                "public_origin {:?} must be https:// (or http://localhost for development): passkeys need a secure origin",
                self.public_origin
            )));
        }
        if let Some(office_hours) = &self.office_hours {
            clinic_text("office_hours", office_hours, CLINIC_TEXT_MAX_CHARS)?;
        }
        if clinic_text("reply_time", &self.reply_time, CLINIC_TEXT_MAX_CHARS)?.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "reply_time must not be empty; leave it out for the default {DEFAULT_REPLY_TIME:?}"
            )));
        }
        if clinic_text(
            "emergency_notice",
            &self.emergency_notice,
            EMERGENCY_NOTICE_MAX_CHARS,
        )?
        .is_empty()
        {
            return Err(ConfigError::Invalid(format!(
                "emergency_notice must not be empty; leave it out for the default {DEFAULT_EMERGENCY_NOTICE:?}"
            )));
        }
        for (lang, texts) in &self.clinic_texts {
            if !CLINIC_TEXT_LANGUAGES.contains(&lang.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "clinic_texts.{lang}: Ward's web client speaks English (the texts above) and {}; give texts only for those",
                    CLINIC_TEXT_LANGUAGES.join(", ")
                )));
            }
            for (option, value, max) in [
                ("office_hours", &texts.office_hours, CLINIC_TEXT_MAX_CHARS),
                ("reply_time", &texts.reply_time, CLINIC_TEXT_MAX_CHARS),
                (
                    "emergency_notice",
                    &texts.emergency_notice,
                    EMERGENCY_NOTICE_MAX_CHARS,
                ),
            ] {
                if let Some(value) = value {
                    let option = format!("clinic_texts.{lang}.{option}");
                    if clinic_text(&option, value, max)?.is_empty() {
                        return Err(ConfigError::Invalid(format!(
                            "{option} is empty; leave it out to show the English text"
                        )));
                    }
                }
            }
            if let Some(text) = &texts.consent_text {
                check_consent(
                    &format!("clinic_texts.{lang}.consent"),
                    &self.consent_version,
                    text,
                )?;
            }
            if let Some(text) = &texts.caregiver_consent_text {
                check_consent(
                    &format!("clinic_texts.{lang}.caregiver_consent"),
                    &self.caregiver_consent_version,
                    text,
                )?;
            }
        }
        check_consent("consent", &self.consent_version, &self.consent_text)?;
        check_consent(
            "caregiver_consent",
            &self.caregiver_consent_version,
            &self.caregiver_consent_text,
        )?;
        if self.max_attachment_bytes == 0
            || ward_seal::stream::encrypted_len(self.max_attachment_bytes).is_none()
        {
            return Err(ConfigError::Invalid(format!(
                "max_attachment_bytes must be at least 1 (and a sane size); it is {}",
                self.max_attachment_bytes
            )));
        }
        if self.attachment_quota_bytes == 0 {
            return Err(ConfigError::Invalid(
                "attachment_quota_bytes must be at least 1; to stop attachments, lower max_attachment_bytes instead".into(),
            ));
        }
        if let Some(bad) = self
            .allowed_attachment_types
            .iter()
            .find(|t| !is_media_type(t))
        {
            return Err(ConfigError::Invalid(format!(
                "allowed_attachment_types entry {bad:?} is not a media type; write it like \"image/jpeg\" (lower case, no parameters)"
            )));
        }
        if let Some(store) = &self.blob_store {
            crate::blobs::Location::parse(store)
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if self.upload_expiry_hours == 0 || self.unattached_blob_expiry_days == 0 {
            return Err(ConfigError::Invalid(
                "upload_expiry_hours and unattached_blob_expiry_days must be at least 1".into(),
            ));
        }
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|entry| IpBlock::parse(entry).is_none())
        {
            return Err(ConfigError::Invalid(format!(
                "trusted_proxies entry {bad:?} is not an IP address or CIDR block; write it like \"127.0.0.1\" or \"10.0.0.0/8\""
            )));
        }
        if self.max_threads_per_day == 0 {
            return Err(ConfigError::Invalid(format!(
                "max_threads_per_day must be at least 1 (patients could not start any conversation); leave it out for the default {DEFAULT_MAX_THREADS_PER_DAY}"
            )));
        }
        if !self
            .sensitive_categories
            .iter()
            .any(|s| s == "confidential")
        {
            return Err(ConfigError::Invalid(
                "sensitive_categories must include \"confidential\": the app calls that category \"never shared\"; add others beside it".into(),
            ));
        }
        if let Some(bad) = self
            .sensitive_categories
            .iter()
            .find(|name| ward_proto::threads::category::from_name(name).is_err())
        {
            return Err(ConfigError::Invalid(format!(
                "sensitive_categories entry {bad:?} is not a thread category: use appointment, refill, question, billing, confidential or other"
            )));
        }
        if self.retention_years == Some(0) {
            return Err(ConfigError::Invalid(
                "retention_years must be at least 1 (0 would delete every message at once); leave it out to keep messages forever".into(),
            ));
        }
        for entry in &self.frame_ancestors {
            exact_frame_ancestor(entry)?;
        }
        for entry in &self.push_services {
            push_service(entry)?;
        }
        if let Some(contact) = &self.push_contact
            && !(contact.starts_with("mailto:") || contact.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "push_contact {contact:?} must be a mailto: or https:// URI (push services use it to reach the relay's operator)"
            )));
        }
        if self.max_connections == Some(0)
            || self.header_read_timeout_seconds == 0
            || self.body_read_timeout_seconds == 0
            || self.idle_timeout_seconds == 0
            || self.websocket_send_queue == 0
        {
            return Err(ConfigError::Invalid(
                "max_connections, header_read_timeout_seconds, body_read_timeout_seconds, idle_timeout_seconds and websocket_send_queue must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Whether `ip` is one of `trusted_proxies` (entries that do not parse
    /// are refused by [`Config::validate`], and trust nothing).
    pub fn trusts_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .filter_map(|entry| IpBlock::parse(entry))
            .any(|block| block.contains(ip))
    }

    /// `office_hours` as patients see it: trimmed, `None` when unset or empty.
    pub fn office_hours(&self) -> Option<&str> {
        self.office_hours
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// `reply_time` as patients see it: trimmed.
    pub fn reply_time(&self) -> &str {
        self.reply_time.trim()
    }

    /// `emergency_notice` as patients see it: trimmed.
    pub fn emergency_notice(&self) -> &str {
        self.emergency_notice.trim()
    }

    /// The clinic texts in each other language, trimmed: what the clinic
    /// gave, else the relay's translation of a default it kept.
    pub fn clinic_texts(&self) -> std::collections::BTreeMap<String, ClinicTexts> {
        let trimmed = |text: &Option<String>| text.as_deref().map(|t| t.trim().to_owned());
        CLINIC_TEXT_LANGUAGES
            .iter()
            .map(|&lang| {
                let given = self.clinic_texts.get(lang).cloned().unwrap_or_default();
                let default_es =
                    |ours: bool, text: &str| (ours && lang == "es").then(|| text.to_owned());
                let texts = ClinicTexts {
                    office_hours: trimmed(&given.office_hours),
                    reply_time: trimmed(&given.reply_time).or_else(|| {
                        default_es(
                            self.reply_time() == DEFAULT_REPLY_TIME,
                            DEFAULT_REPLY_TIME_ES,
                        )
                    }),
                    emergency_notice: trimmed(&given.emergency_notice).or_else(|| {
                        default_es(
                            self.emergency_notice() == DEFAULT_EMERGENCY_NOTICE,
                            DEFAULT_EMERGENCY_NOTICE_ES,
                        )
                    }),
                    ..ClinicTexts::default()
                };
                (lang.to_owned(), texts)
            })
            .collect()
    }

    /// `consent_text` in `lang` (`es`): the clinic's translation, else the
    /// relay's own where the English is still its default; `None`: the
    /// English is what there is.
    pub fn consent_text_in(&self, lang: &str) -> Option<String> {
        let given = self
            .clinic_texts
            .get(lang)
            .and_then(|t| t.consent_text.as_deref());
        translated(
            given,
            lang,
            self.consent_text() == DEFAULT_CONSENT_TEXT.trim(),
            DEFAULT_CONSENT_TEXT_ES,
        )
    }

    /// `caregiver_consent_text` in `lang`, as [`Config::consent_text_in`].
    pub fn caregiver_consent_text_in(&self, lang: &str) -> Option<String> {
        let given = self
            .clinic_texts
            .get(lang)
            .and_then(|t| t.caregiver_consent_text.as_deref());
        translated(
            given,
            lang,
            self.caregiver_consent_text() == DEFAULT_CAREGIVER_CONSENT_TEXT.trim(),
            DEFAULT_CAREGIVER_CONSENT_TEXT_ES,
        )
    }

    /// `consent_text` as patients see it and agree to: trimmed.
    pub fn consent_text(&self) -> &str {
        self.consent_text.trim()
    }

    /// `caregiver_consent_text` as patients see it and agree to: trimmed.
    pub fn caregiver_consent_text(&self) -> &str {
        self.caregiver_consent_text.trim()
    }

    /// The largest encrypted upload accepted: the encrypted size of a
    /// `max_attachment_bytes` file.
    pub fn max_upload_bytes(&self) -> u64 {
        ward_seal::stream::encrypted_len(self.max_attachment_bytes).unwrap_or(u64::MAX)
    }

    /// How long an unfinished upload is kept.
    pub fn upload_expiry(&self) -> Duration {
        Duration::from_secs(self.upload_expiry_hours.saturating_mul(3600))
    }

    /// How long a finalized blob no message references is kept.
    pub fn unattached_blob_expiry(&self) -> Duration {
        Duration::from_secs(self.unattached_blob_expiry_days.saturating_mul(86_400))
    }

    /// `public_origin` as browsers send it in `Origin`: scheme, host and a
    /// port only when it is not the scheme's default, no trailing slash.
    pub fn public_origin_header(&self) -> String {
        url::Url::parse(&self.public_origin)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_else(|_| self.public_origin.clone())
    }

    /// `header_read_timeout_seconds`.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    /// `body_read_timeout_seconds`.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_seconds)
    }

    /// `idle_timeout_seconds`.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }

    /// Idle timeout.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes.saturating_mul(60))
    }

    /// Absolute timeout.
    pub fn session_absolute(&self) -> Duration {
        Duration::from_secs(self.session_absolute_hours.saturating_mul(3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nframe_ancestors = [\"https://clinic.example\"]\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.session_idle_minutes, 30);
        config.validate().unwrap();

        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let error = Config::from_file(&path).unwrap_err().to_string();
        assert!(error.contains("listne"), "{error}");
    }

    #[test]
    fn clinic_texts_default_to_no_office_hours_and_one_business_day() {
        let config = Config::default();
        config.validate().unwrap();
        assert_eq!(config.office_hours(), None);
        assert_eq!(config.reply_time(), "within one business day");
        assert_eq!(
            config.emergency_notice(),
            "If this is an emergency, call 911. For a mental health crisis, call or text 988."
        );
    }

    #[test]
    fn clinic_texts_in_spanish_are_the_clinics_else_the_relays_for_its_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        // Defaults kept, nothing given: the relay's own Spanish.
        let config = Config::default();
        let es = &config.clinic_texts()["es"];
        assert_eq!(es.reply_time.as_deref(), Some(DEFAULT_REPLY_TIME_ES));
        assert_eq!(
            es.emergency_notice.as_deref(),
            Some(DEFAULT_EMERGENCY_NOTICE_ES)
        );
        assert_eq!(es.office_hours, None);

        // The clinic's own English without Spanish: its English is shown,
        // never the relay's 911 default under another clinic's notice.
        std::fs::write(
            &path,
            "emergency_notice = \"In an emergency, call 999.\"\n[clinic_texts.es]\noffice_hours = \" Lunes a viernes \"\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        config.validate().unwrap();
        let es = &config.clinic_texts()["es"];
        assert_eq!(es.emergency_notice, None);
        assert_eq!(es.office_hours.as_deref(), Some("Lunes a viernes"));
        assert_eq!(es.reply_time.as_deref(), Some(DEFAULT_REPLY_TIME_ES));

        for (toml, names) in [
            (
                "[clinic_texts.fr]\nreply_time = \"demain\"\n",
                "clinic_texts.fr",
            ),
            (
                "[clinic_texts.es]\nreply_time = \"  \"\n",
                "clinic_texts.es.reply_time is empty",
            ),
            (
                "[clinic_texts.es]\nemergency_notice = \"a\\tb\"\n",
                "clinic_texts.es.emergency_notice",
            ),
        ] {
            std::fs::write(&path, toml).unwrap();
            let error = Config::from_file(&path)
                .and_then(|c| c.validate().map(|()| c))
                .unwrap_err()
                .to_string();
            assert!(error.contains(names), "{error}");
        }
    }

    #[test]
    fn clinic_texts_come_from_the_toml_file_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(
            &path,
            "office_hours = \"  Monday to Friday, 8 am to 5 pm \"\nreply_time = \"within two business days\"\nemergency_notice = \" In an emergency, call 999. \"\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        config.validate().unwrap();
        assert_eq!(
            config.office_hours(),
            Some("Monday to Friday, 8 am to 5 pm")
        );
        assert_eq!(config.reply_time(), "within two business days");
        assert_eq!(config.emergency_notice(), "In an emergency, call 999.");

        // Only one of them: the other keeps its default.
        std::fs::write(&path, "office_hours = \"Weekdays 9 to 5\"\n").unwrap();
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.office_hours(), Some("Weekdays 9 to 5"));
        assert_eq!(config.reply_time(), DEFAULT_REPLY_TIME);
        assert_eq!(config.emergency_notice(), DEFAULT_EMERGENCY_NOTICE);

        // Blank office hours are no office hours.
        let config = Config {
            office_hours: Some("   ".into()),
            ..Config::default()
        };
        config.validate().unwrap();
        assert_eq!(config.office_hours(), None);
    }

    #[test]
    fn a_too_long_or_multiline_clinic_text_is_refused_naming_the_option() {
        let at_limit = "é".repeat(CLINIC_TEXT_MAX_CHARS);
        let over = "a".repeat(CLINIC_TEXT_MAX_CHARS + 1);
        let notice_at_limit = "é".repeat(EMERGENCY_NOTICE_MAX_CHARS);
        let notice_over = "a".repeat(EMERGENCY_NOTICE_MAX_CHARS + 1);
        Config {
            office_hours: Some(format!(" {at_limit} ")),
            reply_time: at_limit.clone(),
            emergency_notice: format!(" {notice_at_limit} "),
            ..Config::default()
        }
        .validate()
        .unwrap();

        let error = Config {
            office_hours: Some(over.clone()),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("office_hours") && error.contains("201") && error.contains("200"),
            "{error}"
        );

        let error = Config {
            reply_time: over.clone(),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("reply_time") && error.contains("200"),
            "{error}"
        );

        // The emergency notice may be longer than the others, up to 300.
        Config {
            emergency_notice: over,
            ..Config::default()
        }
        .validate()
        .unwrap();
        let error = Config {
            emergency_notice: notice_over,
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("emergency_notice") && error.contains("301") && error.contains("300"),
            "{error}"
        );

        let error = Config {
            emergency_notice: "Call 911.\tOr 988.".into(),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("emergency_notice") && error.contains("control"),
            "{error}"
        );

        let error = Config {
            office_hours: Some("Monday to Friday\n8 am to 5 pm".into()),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("office_hours") && error.contains("control"),
            "{error}"
        );

        let error = Config {
            reply_time: "  ".into(),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("reply_time") && error.contains("empty"),
            "{error}"
        );

        let error = Config {
            emergency_notice: " ".into(),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("emergency_notice") && error.contains("empty"),
            "{error}"
        );

        // From a file, too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(&path, format!("reply_time = \"{}\"\n", "b".repeat(250))).unwrap();
        let error = Config::from_file(&path)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(error.contains("reply_time is 250 characters"), "{error}");

        std::fs::write(
            &path,
            format!("emergency_notice = \"{}\"\n", "c".repeat(350)),
        )
        .unwrap();
        let error = Config::from_file(&path)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("emergency_notice is 350 characters"),
            "{error}"
        );
    }

    #[test]
    fn attachment_settings_have_defaults_and_come_from_the_toml_file() {
        let config = Config::default();
        config.validate().unwrap();
        assert_eq!(config.max_attachment_bytes, 100_000_000);
        assert_eq!(config.attachment_quota_bytes, 1_000_000_000);
        assert_eq!(
            config.allowed_attachment_types,
            [
                "image/jpeg",
                "image/png",
                "image/heic",
                "image/webp",
                "application/pdf"
            ]
        );
        assert_eq!(config.blob_store, None);
        assert_eq!(config.upload_expiry(), Duration::from_secs(24 * 3600));
        assert_eq!(
            config.unattached_blob_expiry(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            Some(config.max_upload_bytes()),
            ward_seal::stream::encrypted_len(100_000_000)
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(
            &path,
            "max_attachment_bytes = 5000000\nattachment_quota_bytes = 20000000\nallowed_attachment_types = [\"image/png\", \"text/plain\"]\nblob_store = \"s3://ward-blobs/clinic-1\"\nupload_expiry_hours = 2\nunattached_blob_expiry_days = 1\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        config.validate().unwrap();
        assert_eq!(config.max_attachment_bytes, 5_000_000);
        assert_eq!(config.attachment_quota_bytes, 20_000_000);
        assert_eq!(config.allowed_attachment_types, ["image/png", "text/plain"]);
        assert_eq!(
            config.blob_store.as_deref(),
            Some("s3://ward-blobs/clinic-1")
        );
        assert_eq!(config.upload_expiry(), Duration::from_secs(2 * 3600));
    }

    #[test]
    fn bad_attachment_settings_are_refused_naming_the_option() {
        for (config, option) in [
            (
                Config {
                    max_attachment_bytes: 0,
                    ..Config::default()
                },
                "max_attachment_bytes",
            ),
            (
                Config {
                    max_attachment_bytes: u64::MAX,
                    ..Config::default()
                },
                "max_attachment_bytes",
            ),
            (
                Config {
                    attachment_quota_bytes: 0,
                    ..Config::default()
                },
                "attachment_quota_bytes",
            ),
            (
                Config {
                    allowed_attachment_types: vec!["image/jpeg; q=1".into()],
                    ..Config::default()
                },
                "allowed_attachment_types",
            ),
            (
                Config {
                    allowed_attachment_types: vec!["PDF".into()],
                    ..Config::default()
                },
                "allowed_attachment_types",
            ),
            (
                Config {
                    blob_store: Some("ftp://example.com/blobs".into()),
                    ..Config::default()
                },
                "blob_store",
            ),
            (
                Config {
                    blob_store: Some("s3:///no-bucket".into()),
                    ..Config::default()
                },
                "blob_store",
            ),
            (
                Config {
                    upload_expiry_hours: 0,
                    ..Config::default()
                },
                "upload_expiry_hours",
            ),
            (
                Config {
                    max_threads_per_day: 0,
                    ..Config::default()
                },
                "max_threads_per_day",
            ),
            (
                Config {
                    sensitive_categories: vec!["billing".into()],
                    ..Config::default()
                },
                "must include \"confidential\"",
            ),
            (
                Config {
                    sensitive_categories: vec!["confidential".into(), "gossip".into()],
                    ..Config::default()
                },
                "\"gossip\" is not a thread category",
            ),
        ] {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(option), "{option}: {error}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidr_blocks() {
        let config = Config {
            trusted_proxies: vec![
                "127.0.0.1".into(),
                "10.0.0.0/8".into(),
                "2001:db8::/32".into(),
            ],
            ..Config::default()
        };
        config.validate().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(config.trusts_proxy(ip("127.0.0.1")));
        assert!(config.trusts_proxy(ip("::ffff:127.0.0.1")));
        assert!(!config.trusts_proxy(ip("127.0.0.2")));
        assert!(config.trusts_proxy(ip("10.200.3.4")));
        assert!(!config.trusts_proxy(ip("11.0.0.1")));
        assert!(config.trusts_proxy(ip("2001:db8:1::5")));
        assert!(!config.trusts_proxy(ip("2001:db9::5")));
        assert!(IpBlock::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", ""] {
            let error = Config {
                trusted_proxies: vec![bad.into()],
                ..Config::default()
            }
            .validate()
            .unwrap_err()
            .to_string();
            assert!(error.contains("trusted_proxies"), "{bad}: {error}");
        }
    }

    #[test]
    fn unsafe_frame_ancestors_are_refused() {
        let config = Config {
            frame_ancestors: vec!["https://a.example; script-src *".into()],
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn frame_ancestors_must_be_exact_origins() {
        for good in [
            "https://clinic.example",
            "https://clinic.example:8443",
            "http://localhost",
            "http://localhost:3000",
            "http://127.0.0.1:5173",
        ] {
            Config {
                frame_ancestors: vec![good.into()],
                ..Config::default()
            }
            .validate()
            .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "https://*",
            "https://*.clinic.example",
            "*",
            "https:",
            "'self'",
            "http://clinic.example",
            "http://localhost.evil.example",
            "http://localhost.evil.example:8080",
            "http://127.0.0.1.evil.example",
            "https://clinic.example/",
            "https://clinic.example/portal",
            "https://clinic.example:443",
            "https://Clinic.example",
            "https://user@clinic.example",
            "https://clinic.example?x",
            "ftp://clinic.example",
            "clinic.example",
        ] {
            let error = Config {
                frame_ancestors: vec![bad.into()],
                ..Config::default()
            }
            .validate()
            .map(|()| format!("{bad} was accepted"))
            .unwrap_or_else(|e| e.to_string());
            assert!(
                error.contains("frame_ancestors entry") && error.contains("https://clinic.example"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_sample_configuration_parses_to_the_defaults() {
        let sample: Config = toml::from_str(include_str!("../ward-relay.example.toml")).unwrap();
        sample.validate().unwrap();
        assert_eq!(sample, Config::default());
    }

    #[test]
    fn connection_limits_have_defaults_and_come_from_the_toml_file() {
        let config = Config::default();
        assert_eq!(config.max_connections, None);
        assert_eq!(config.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(config.body_read_timeout(), Duration::from_secs(120));
        assert_eq!(config.idle_timeout(), Duration::from_secs(60));
        assert_eq!(config.websocket_send_queue, 64);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(
            &path,
            "max_connections = 50\nheader_read_timeout_seconds = 2\nbody_read_timeout_seconds = 3\nidle_timeout_seconds = 4\nwebsocket_send_queue = 5\n",
        )
        .unwrap();
        let config = Config::from_file(&path).unwrap();
        config.validate().unwrap();
        assert_eq!(config.max_connections, Some(50));
        assert_eq!(config.header_read_timeout(), Duration::from_secs(2));
        assert_eq!(config.body_read_timeout(), Duration::from_secs(3));
        assert_eq!(config.idle_timeout(), Duration::from_secs(4));
        assert_eq!(config.websocket_send_queue, 5);

        let error = Config {
            header_read_timeout_seconds: 0,
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(error.contains("header_read_timeout_seconds"), "{error}");
    }

    #[test]
    fn the_default_connection_cap_leaves_a_tenth_and_64_open_files() {
        assert_eq!(max_connections_for_open_files(20_000), 17_936);
        assert_eq!(max_connections_for_open_files(1_024), 858);
        assert_eq!(max_connections_for_open_files(10), 1);
        assert_eq!(max_connections_for_open_files(u64::MAX), u32::MAX);
    }

    #[test]
    fn push_services_are_origins_with_at_most_a_leading_wildcard() {
        assert!(Config::default().validate().is_ok());
        for good in [
            "https://fcm.googleapis.com",
            "https://*.notify.windows.com",
            "http://127.0.0.1:9000",
        ] {
            let config = Config {
                push_services: vec![good.into()],
                ..Config::default()
            };
            assert!(config.validate().is_ok(), "{good}");
        }
        for bad in [
            "fcm.googleapis.com",
            "https://fcm.googleapis.com/",
            "https://fcm.googleapis.com/fcm/send",
            "https://a.*.example",
            "https://*",
            "ftp://push.example",
            "https://FCM.googleapis.com",
        ] {
            let config = Config {
                push_services: vec![bad.into()],
                ..Config::default()
            };
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains("push_services entry"), "{bad}: {error}");
        }
        let config = Config {
            push_contact: Some("ops@clinic.example".into()),
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
