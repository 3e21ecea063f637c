//! Web Push (RFC 8030, RFC 8291, RFC 8292): when a message or a read
//! receipt is stored for an account that has no live WebSocket, a push to
//! each of its devices' subscriptions, so the app can tell the patient
//! "New message from your care team" without holding a connection.
//!
//! Nothing here runs in the request path beyond [`Push::notify`], which
//! puts a job on a bounded in-memory queue (and drops it, counted, when the
//! queue is full). The worker ([`worker`]) reads presence and
//! subscriptions, collapses what waits in the queue for one account, and
//! sends with bounded concurrency, retrying 429 and 5xx answers. A push
//! carries only a [`PushNotice`] padded to [`NOTICE_LEN`] bytes. docs/push.md.

pub mod presence;
pub mod vapid;
mod worker;

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::mpsc;
use ward_proto::push::{NOTICE_LEN, PushKind, PushNotice, PushSubscription};

use crate::background::Task;
use crate::store::push::Target;

pub use vapid::VapidKey;

/// How many jobs may wait for the worker; more are dropped (counted).
pub const QUEUE: usize = 4096;

/// An account with a session whose WebSocket was seen open this recently
/// (Unix milliseconds) gets no push: its app hears events live.
/// [`crate::session_watch`] refreshes open sockets every minute.
pub const LIVE_WINDOW_MS: i64 = 90_000;

/// The longest endpoint URL the relay stores.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Test notifications: at most one per session this often.
pub const TEST_EVERY_MS: i64 = 10_000;

/// Why Web Push could not be set up, or a push not built.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The VAPID key file could not be read or created.
    #[error(
        "could not read or create the VAPID key file {path}: {source}. Check its permissions, or set vapid_key_file to a readable file"
    )]
    KeyFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The VAPID key file does not hold a P-256 private key.
    #[error(
        "the VAPID key file {path} must hold a P-256 private key: 32 bytes, 64 hexadecimal or 43 base64url characters (delete it to have the relay make a new one; existing push subscriptions then stop working until each device subscribes again)"
    )]
    KeyMalformed {
        /// The file.
        path: std::path::PathBuf,
    },
    /// The HTTP client for push services could not be built.
    #[error("could not set up the HTTP client for Web Push: {0}")]
    Client(String),
    /// A VAPID token could not be signed.
    #[error("could not sign a VAPID token: {0}")]
    Sign(String),
    /// A push body could not be encrypted to its subscription.
    #[error("could not encrypt a push to its subscription: {0}")]
    Encrypt(String),
}

/// Why a subscription was refused (each a sentence for a person).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The endpoint is longer than [`MAX_ENDPOINT_LEN`].
    #[error("The push subscription's endpoint is longer than 2048 bytes.")]
    EndpointTooLong,
    /// The endpoint is not an absolute http(s) URL.
    #[error("The push subscription's endpoint is not an absolute https:// URL.")]
    EndpointNotUrl,
    /// The endpoint's origin is not one of `push_services`.
    #[error(
        "This browser's push service ({0}) is not one this relay sends notifications to. Ask the clinic to add it to push_services, or use another browser."
    )]
    ServiceNotAllowed(String),
    /// `keys.p256dh` is not a P-256 public key.
    #[error("The push subscription's keys.p256dh is not a P-256 public key (65 bytes, base64url).")]
    BadP256dh,
    /// `keys.auth` is not 16 bytes.
    #[error("The push subscription's keys.auth is not a 16-byte secret (base64url).")]
    BadAuth,
}

/// A subscription that passed [`check_subscription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The endpoint, as given.
    pub endpoint: String,
    /// The device's public key (65 bytes).
    pub p256dh: Vec<u8>,
    /// The authentication secret (16 bytes).
    pub auth: Vec<u8>,
}

fn base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// Checks a browser's subscription against the allowed `services`.
pub fn check_subscription(
    subscription: &PushSubscription,
    services: &[String],
) -> Result<Checked, SubscriptionError> {
    let endpoint = &subscription.endpoint;
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(SubscriptionError::EndpointTooLong);
    }
    let url = url::Url::parse(endpoint).map_err(|_| SubscriptionError::EndpointNotUrl)?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(SubscriptionError::EndpointNotUrl);
    }
    if !allowed(&url, services) {
        return Err(SubscriptionError::ServiceNotAllowed(
            url.origin().ascii_serialization(),
        ));
    }
    let p256dh = base64url(&subscription.keys.p256dh)
        .filter(|key| key.len() == 65 && key.first() == Some(&4))
        .filter(|key| web_push_native::p256::PublicKey::from_sec1_bytes(key).is_ok())
        .ok_or(SubscriptionError::BadP256dh)?;
    let auth = base64url(&subscription.keys.auth)
        .filter(|auth| auth.len() == 16)
        .ok_or(SubscriptionError::BadAuth)?;
    Ok(Checked {
        endpoint: endpoint.clone(),
        p256dh,
        auth,
    })
}

/// Whether `url` is on one of `services` (origins, one leading `*.` label
/// allowed: `https://*.notify.windows.com` takes
/// `https://db5p.notify.windows.com`, not `https://a.b.notify.windows.com`
/// or `https://notify.windows.com`).
pub fn allowed(url: &url::Url, services: &[String]) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let port = url.port_or_known_default();
    services.iter().any(|service| {
        let Some((scheme, rest)) = service.split_once("://") else {
            return false;
        };
        if scheme != url.scheme() {
            return false;
        }
        let (pattern, service_port) = match rest.rsplit_once(':') {
            Some((pattern, port)) => (pattern, port.parse::<u16>().ok()),
            None => (
                rest,
                if scheme == "https" {
                    Some(443)
                } else {
                    Some(80)
                },
            ),
        };
        if service_port != port {
            return false;
        }
        match pattern.strip_prefix("*.") {
            Some(tail) => host
                .strip_suffix(tail)
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
            None => host == pattern,
        }
    })
}

/// The plaintext of a push: the notice's JSON, then spaces up to
/// [`NOTICE_LEN`] bytes. A notice that would not fit goes without its
/// thread and count (thread ids are far shorter).
pub fn padded(notice: &PushNotice) -> Vec<u8> {
    let mut body = serde_json::to_vec(notice).unwrap_or_default();
    if body.len() > NOTICE_LEN {
        let bare = PushNotice {
            v: notice.v,
            kind: notice.kind,
            thread: None,
            unread: None,
        };
        body = serde_json::to_vec(&bare).unwrap_or_default();
    }
    body.resize(NOTICE_LEN, b' ');
    body
}

/// The name of a kind, as the notice and the topic key use it.
pub fn kind_name(kind: PushKind) -> &'static str {
    match kind {
        PushKind::Message => "message",
        PushKind::Receipt => "receipt",
        PushKind::Test => "test",
    }
}

/// A job for the worker.
#[derive(Debug)]
enum Job {
    /// Something happened in `thread_id` for `accounts`.
    Event {
        kind: PushKind,
        thread_id: String,
        accounts: Vec<String>,
    },
    /// The test notification to one subscription.
    Test { target: Target },
}

/// The relay's Web Push: its VAPID key and the queue to its worker. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct Push {
    key: Arc<VapidKey>,
    queue: mpsc::Sender<Job>,
    /// The queue's receiving end until the worker starts.
    waiting: Arc<Mutex<Option<mpsc::Receiver<Job>>>>,
}

impl Push {
    /// Web Push with `key`; nothing is sent until [`Push::spawn`].
    pub fn new(key: VapidKey) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        Self {
            key: Arc::new(key),
            queue,
            waiting: Arc::new(Mutex::new(Some(waiting))),
        }
    }

    /// The VAPID key.
    pub fn key(&self) -> &VapidKey {
        &self.key
    }

    /// Queues pushes of `kind` about `thread_id` to `accounts` (each of
    /// their devices, unless the account is live). Never waits: a full
    /// queue drops the job, counted in the metrics.
    pub fn notify(
        &self,
        state: &crate::AppState,
        kind: PushKind,
        thread_id: &str,
        accounts: Vec<String>,
    ) {
        if accounts.is_empty() {
            return;
        }
        self.enqueue(
            state,
            Job::Event {
                kind,
                thread_id: thread_id.to_owned(),
                accounts,
            },
        );
    }

    /// Queues the test notification to `target`.
    pub fn test(&self, state: &crate::AppState, target: Target) {
        self.enqueue(state, Job::Test { target });
    }

    fn enqueue(&self, state: &crate::AppState, job: Job) {
        if self.queue.try_send(job).is_err() {
            state.metrics.push().dropped();
            tracing::warn!("the push queue is full; a push was dropped");
        }
    }

    /// Starts the worker (once; later calls start nothing).
    pub fn spawn(&self, state: &crate::AppState) -> Option<Task> {
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        match worker::Worker::new(state) {
            Ok(worker) => Some(Task::spawn(worker.run(waiting))),
            Err(error) => {
                tracing::error!(%error, "Web Push is off");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ward_proto::push::PushSubscriptionKeys;

    fn services() -> Vec<String> {
        crate::config::DEFAULT_PUSH_SERVICES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["http://127.0.0.1:9000".to_owned()])
            .collect()
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn only_listed_push_services_are_allowed() {
        let services = services();
        for good in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://fcm.googleapis.com:443/fcm/send/abc",
            "https://web.push.apple.com/QAbc",
            "https://db5p.notify.windows.com/w/?token=x",
            "http://127.0.0.1:9000/push/1",
        ] {
            assert!(allowed(&url(good), &services), "{good}");
        }
        for bad in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://fcm.googleapis.com:8443/x",
            "https://fcm.googleapis.com.evil.example/x",
            "https://notify.windows.com/x",
            "https://a.b.notify.windows.com/x",
            "https://evilnotify.windows.com/x",
            "http://127.0.0.1:9001/push/1",
            "http://localhost:9000/push/1",
            "https://169.254.169.254/latest",
        ] {
            assert!(!allowed(&url(bad), &services), "{bad}");
        }
    }

    #[test]
    fn subscriptions_are_checked_with_a_reason() {
        let point = {
            let secret = web_push_native::p256::SecretKey::from_slice(&[3u8; 32]).unwrap();
            use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
            secret
                .public_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()
        };
        let good = PushSubscription {
            endpoint: "https://fcm.googleapis.com/fcm/send/abc".into(),
            expiration_time: None,
            keys: PushSubscriptionKeys {
                p256dh: URL_SAFE_NO_PAD.encode(&point),
                auth: URL_SAFE_NO_PAD.encode([1u8; 16]),
            },
        };
        let checked = check_subscription(&good, &services()).unwrap();
        assert_eq!(checked.p256dh, point);
        let with = |change: &dyn Fn(&mut PushSubscription)| {
            let mut sub = good.clone();
            change(&mut sub);
            check_subscription(&sub, &services()).unwrap_err()
        };
        assert_eq!(
            with(&|s| s.endpoint = format!("https://fcm.googleapis.com/{}", "a".repeat(2048))),
            SubscriptionError::EndpointTooLong
        );
        assert_eq!(
            with(&|s| s.endpoint = "/fcm/send/abc".into()),
            SubscriptionError::EndpointNotUrl
        );
        assert_eq!(
            with(&|s| s.endpoint = "https://push.evil.example/x".into()),
            SubscriptionError::ServiceNotAllowed("https://push.evil.example".into())
        );
        assert_eq!(
            with(&|s| s.keys.p256dh = URL_SAFE_NO_PAD.encode([4u8; 65])),
            SubscriptionError::BadP256dh
        );
        assert_eq!(
            with(&|s| s.keys.auth = URL_SAFE_NO_PAD.encode([1u8; 15])),
            SubscriptionError::BadAuth
        );
    }

    #[test]
    fn notices_are_padded_to_one_length() {
        for notice in [
            PushNotice {
                v: 1,
                kind: PushKind::Message,
                thread: Some("thr_abcdefghijklmnopqrstuv".into()),
                unread: Some(12),
            },
            PushNotice {
                v: 1,
                kind: PushKind::Test,
                thread: None,
                unread: None,
            },
            PushNotice {
                v: 1,
                kind: PushKind::Receipt,
                thread: Some("x".repeat(400)),
                unread: Some(1),
            },
        ] {
            let body = padded(&notice);
            assert_eq!(body.len(), NOTICE_LEN);
            let json: PushNotice = serde_json::from_slice(body.trim_ascii_end()).unwrap();
            assert_eq!(json.kind, notice.kind);
        }
    }
}
