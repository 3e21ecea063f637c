//! The push worker: reads jobs off the queue, collapses those for one
//! account and kind, finds the subscriptions of accounts that are not live,
//! and sends with bounded concurrency. docs/push.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use ward_proto::push::{PushKind, PushNotice};

use super::{Job, LIVE_WINDOW_MS, PushError, kind_name, padded};
use crate::store::push::Target;
use crate::{AppState, store};

/// Pushes in flight at once.
const CONCURRENCY: usize = 16;
/// Attempts per push (the first and two retries).
const ATTEMPTS: u32 = 3;
/// A push not delivered this long after its first attempt is dropped.
const RETRY_WINDOW: Duration = Duration::from_secs(600);
/// Jobs collapsed together at most.
const BATCH: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// `TTL` (seconds) and `Urgency` for a kind: a message waits two days for
/// an offline device, a receipt one, a test a minute.
fn delivery_terms(kind: PushKind) -> (u32, &'static str) {
    match kind {
        PushKind::Message => (172_800, "high"),
        PushKind::Receipt => (86_400, "low"),
        PushKind::Test => (60, "high"),
    }
}

/// Waiting before attempt `attempt + 1` when the service gave no
/// `Retry-After`: 10 s, then 40 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(10 * 4u64.pow(attempt.saturating_sub(1)))
}

/// One push to one subscription. (No `Debug`: its target's endpoint is a
/// capability.)
struct Delivery {
    kind: PushKind,
    target: Target,
    plaintext: Vec<u8>,
}

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    Sent,
    /// 404 or 410: the subscription is gone.
    Gone,
    /// 429, 5xx or no answer: try again (after the `Retry-After`, if any).
    Retry(Option<Duration>),
    /// Anything else: dropped.
    Refused(String),
}

#[derive(Debug)]
pub(super) struct Worker {
    state: AppState,
    http: reqwest::Client,
    contact: String,
    limit: Arc<Semaphore>,
}

impl Worker {
    pub(super) fn new(state: &AppState) -> Result<Self, PushError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The endpoint was checked against push_services; a redirect
            // must not take the request anywhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PushError::Client(e.to_string()))?;
        let contact = state
            .config
            .push_contact
            .clone()
            .unwrap_or_else(|| state.config.public_origin_header());
        Ok(Self {
            state: state.clone(),
            http,
            contact,
            limit: Arc::new(Semaphore::new(CONCURRENCY)),
        })
    }

    pub(super) async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let this = Arc::new(self);
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            // One push per account and kind, about the newest thread:
            // what waited in the queue collapses here, as Topic collapses
            // it at the push service.
            let mut events: Vec<(String, PushKind, String)> = Vec::new();
            let mut tests = Vec::new();
            for job in batch {
                match job {
                    Job::Event {
                        kind,
                        thread_id,
                        accounts,
                    } => {
                        for account in accounts {
                            match events
                                .iter_mut()
                                .find(|(a, k, _)| *a == account && *k == kind)
                            {
                                Some(entry) => entry.2.clone_from(&thread_id),
                                None => events.push((account, kind, thread_id.clone())),
                            }
                        }
                    }
                    Job::Test { target } => tests.push(target),
                }
            }
            for (account_id, kind, thread_id) in events {
                this.event(account_id, kind, thread_id).await;
            }
            for target in tests {
                let notice = PushNotice {
                    v: 1,
                    kind: PushKind::Test,
                    thread: None,
                    unread: None,
                };
                this.dispatch(Delivery {
                    kind: PushKind::Test,
                    target,
                    plaintext: padded(&notice),
                })
                .await;
            }
        }
    }

    /// Pushes `kind` about `thread_id` to each subscription of
    /// `account_id`, unless it is live.
    async fn event(self: &Arc<Self>, account_id: String, kind: PushKind, thread_id: String) {
        // Live on this relay: no database read needed.
        if self.state.events.local().has(&account_id) {
            return;
        }
        let db = &self.state.db;
        let live_since = crate::secrets::now_ms().saturating_sub(LIVE_WINDOW_MS);
        let targets = match store::push::targets(db, &account_id, live_since).await {
            Ok(targets) => targets,
            Err(error) => {
                tracing::warn!(%error, "could not read push subscriptions; a push was dropped");
                self.state.metrics.push().failed();
                return;
            }
        };
        if targets.is_empty() {
            return;
        }
        let unread = match store::push::unread_total(db, &account_id).await {
            Ok(count) => u64::try_from(count).ok(),
            Err(error) => {
                tracing::warn!(%error, "could not count unread messages for a push");
                None
            }
        };
        let plaintext = padded(&PushNotice {
            v: 1,
            kind,
            thread: Some(thread_id),
            unread,
        });
        for target in targets {
            self.dispatch(Delivery {
                kind,
                target,
                plaintext: plaintext.clone(),
            })
            .await;
        }
    }

    /// Sends `delivery` in its own task once a slot is free.
    async fn dispatch(self: &Arc<Self>, delivery: Delivery) {
        let Ok(permit) = self.limit.clone().acquire_owned().await else {
            return;
        };
        tokio::spawn(self.clone().deliver(delivery, permit));
    }

    /// Up to [`ATTEMPTS`] attempts within [`RETRY_WINDOW`], holding a
    /// concurrency slot only while sending.
    async fn deliver(self: Arc<Self>, delivery: Delivery, permit: OwnedSemaphorePermit) {
        let host = url::Url::parse(&delivery.target.endpoint)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_default();
        let kind = kind_name(delivery.kind);
        let metrics = self.state.metrics.push();
        let started = Instant::now();
        let mut permit = Some(permit);
        for attempt in 1..=ATTEMPTS {
            let slot = match permit.take() {
                Some(slot) => slot,
                None => match self.limit.clone().acquire_owned().await {
                    Ok(slot) => slot,
                    Err(_) => return,
                },
            };
            let outcome = self.attempt(&delivery).await;
            drop(slot);
            match outcome {
                Outcome::Sent => {
                    metrics.sent();
                    tracing::debug!(host, kind, "push sent");
                    return;
                }
                Outcome::Gone => {
                    let target = &delivery.target;
                    match store::push::delete_gone(
                        &self.state.db,
                        &target.session_id,
                        &target.endpoint,
                    )
                    .await
                    {
                        Ok(_) => {
                            metrics.removed();
                            tracing::info!(
                                host,
                                "the push service says a subscription is gone; removed it"
                            );
                        }
                        Err(error) => {
                            tracing::warn!(%error, host, "could not remove a gone push subscription")
                        }
                    }
                    return;
                }
                Outcome::Retry(after) => {
                    let wait = after
                        .unwrap_or_else(|| backoff(attempt))
                        .max(Duration::from_secs(1));
                    if attempt == ATTEMPTS || started.elapsed() + wait > RETRY_WINDOW {
                        metrics.failed();
                        tracing::warn!(
                            host,
                            kind,
                            attempts = attempt,
                            "push service kept refusing; push dropped"
                        );
                        return;
                    }
                    tokio::time::sleep(wait).await;
                }
                Outcome::Refused(why) => {
                    metrics.failed();
                    tracing::warn!(host, kind, why, "push refused; dropped");
                    return;
                }
            }
        }
    }

    /// One POST to the push service.
    async fn attempt(&self, delivery: &Delivery) -> Outcome {
        let target = &delivery.target;
        let Ok(url) = url::Url::parse(&target.endpoint) else {
            return Outcome::Refused("stored endpoint is not a URL".into());
        };
        // push_services may have changed since the subscription was stored.
        if !super::allowed(&url, &self.state.config.push_services) {
            return Outcome::Refused("push service no longer in push_services".into());
        }
        let request = match self.request(delivery, &url) {
            Ok(request) => request,
            Err(error) => return Outcome::Refused(error.to_string()),
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Outcome::Sent
                } else if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
                    Outcome::Gone
                } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    let after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    Outcome::Retry(after)
                } else {
                    Outcome::Refused(format!("status {}", status.as_u16()))
                }
            }
            // Never the URL (a capability) in a log line.
            Err(error) => {
                tracing::debug!(error = %error.without_url(), "push service did not answer");
                Outcome::Retry(None)
            }
        }
    }

    /// The encrypted, signed request for one attempt.
    fn request(
        &self,
        delivery: &Delivery,
        url: &url::Url,
    ) -> Result<reqwest::RequestBuilder, PushError> {
        let target = &delivery.target;
        let push = &self.state.push;
        let audience = url.origin().ascii_serialization();
        let authorization = push.key().authorization(&audience, &self.contact)?;
        let public = web_push_native::p256::PublicKey::from_sec1_bytes(&target.p256dh)
            .map_err(|e| PushError::Encrypt(e.to_string()))?;
        if target.auth.len() != 16 {
            return Err(PushError::Encrypt(
                "the stored auth secret is not 16 bytes".into(),
            ));
        }
        let auth = web_push_native::Auth::clone_from_slice(&target.auth);
        let body = web_push_native::encrypt(delivery.plaintext.clone(), &public, &auth)
            .map_err(|e| PushError::Encrypt(e.to_string()))?;
        let topic = self
            .state
            .secret
            .push_topic(&target.endpoint, kind_name(delivery.kind));
        let (ttl, urgency) = delivery_terms(delivery.kind);
        Ok(self
            .http
            .post(url.clone())
            .header("TTL", ttl)
            .header("Urgency", urgency)
            .header("Topic", topic)
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, authorization)
            .body(body))
    }
}
