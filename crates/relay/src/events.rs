//! Fan-out of live events to connected WebSockets. Each event is serialized
//! once and offered only to its recipients' connections, so an event's cost
//! grows with its recipients, not with every socket the relay holds.
//!
//! Two parts, kept apart so that another transport can sit between them:
//! [`Fanout`] carries an event to wherever its recipients are connected,
//! and [`LocalIndex`] holds this relay's own connections by account and
//! delivers an already-serialized event to them ([`LocalIndex::deliver`]).
//! A single relay's fan-out is its local index; a bridge between relay
//! instances implements [`Fanout`] (send to the others, and call
//! [`LocalIndex::deliver`] for what arrives from them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, mpsc};
use ward_proto::events::Event;

/// Carries serialized events to their recipients' live connections.
pub trait Fanout: Send + Sync + std::fmt::Debug {
    /// Delivers `event` (serialized once, as `json`) to the live
    /// connections of `recipients`. Must not block: it runs inside request
    /// handlers.
    fn fan_out(&self, recipients: &[String], event: &Event, json: Arc<str>);
}

/// One connection's entry: its bounded queue and how to tell it that it
/// was dropped for falling behind.
#[derive(Debug)]
struct Entry {
    queue: mpsc::Sender<Arc<str>>,
    dropped: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Index {
    by_account: HashMap<String, HashMap<u64, Entry>>,
    connections: usize,
}

impl Index {
    fn remove(&mut self, account: &str, id: u64) -> Option<Entry> {
        let entries = self.by_account.get_mut(account)?;
        let entry = entries.remove(&id)?;
        if entries.is_empty() {
            self.by_account.remove(account);
        }
        self.connections -= 1;
        Some(entry)
    }
}

/// This relay's live connections, by account.
#[derive(Debug, Default)]
pub struct LocalIndex {
    index: Mutex<Index>,
    next_id: AtomicU64,
    offers: AtomicU64,
    dropped: AtomicU64,
}

impl LocalIndex {
    /// The index stays consistent under every operation (each is a few
    /// map edits that cannot panic halfway), so a poisoned lock is usable.
    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection of `account` whose events go into `queue`. It is
    /// removed when the returned guard drops (however its task ends), or
    /// earlier if its queue is full when an event is offered.
    pub fn register(
        self: &Arc<Self>,
        account: &str,
        queue: mpsc::Sender<Arc<str>>,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(Notify::new());
        let mut index = self.lock();
        index
            .by_account
            .entry(account.to_owned())
            .or_default()
            .insert(
                id,
                Entry {
                    queue,
                    dropped: dropped.clone(),
                },
            );
        index.connections += 1;
        Registration {
            index: self.clone(),
            account: account.to_owned(),
            id,
            dropped,
        }
    }

    /// Whether `account` has a connection on this relay.
    pub fn has(&self, account: &str) -> bool {
        self.lock().by_account.contains_key(account)
    }

    /// Offers `json` to every local connection of `recipients` (each
    /// account once, however often it is listed). A connection whose queue
    /// is full (or whose writer is gone) is removed and told to close: its
    /// client catches up by cursor when it reconnects. Returns how many
    /// queues were offered the event.
    pub fn deliver(&self, recipients: &[String], json: &Arc<str>) -> usize {
        let mut offered = 0;
        let mut dropped = 0;
        {
            let mut index = self.lock();
            for (at, account) in recipients.iter().enumerate() {
                if recipients[..at].contains(account) {
                    continue;
                }
                let Some(entries) = index.by_account.get(account) else {
                    continue;
                };
                let mut behind = Vec::new();
                for (id, entry) in entries {
                    offered += 1;
                    if entry.queue.try_send(json.clone()).is_err() {
                        behind.push(*id);
                    }
                }
                for id in behind {
                    if let Some(entry) = index.remove(account, id) {
                        entry.dropped.notify_one();
                        dropped += 1;
                    }
                }
            }
        }
        self.offers.fetch_add(offered as u64, Ordering::Relaxed);
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        offered
    }

    /// How many connections are registered.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Closes every connection (they reconnect and catch up by cursor):
    /// for when events may have been missed, as when the link to other
    /// relays was lost for a moment. How many were closed.
    pub fn drop_all(&self) -> usize {
        let mut index = self.lock();
        let all = std::mem::take(&mut index.by_account);
        index.connections = 0;
        drop(index);
        let mut closed = 0;
        for entry in all.into_values().flat_map(HashMap::into_values) {
            entry.dropped.notify_one();
            closed += 1;
        }
        self.dropped.fetch_add(closed as u64, Ordering::Relaxed);
        closed
    }

    /// How many times a connection's queue has been offered an event, in
    /// all: one per recipient connection per event, none for the others.
    pub fn offers(&self) -> u64 {
        self.offers.load(Ordering::Relaxed)
    }

    /// How many connections were dropped for a full queue, in all.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Fanout for LocalIndex {
    fn fan_out(&self, recipients: &[String], _event: &Event, json: Arc<str>) {
        self.deliver(recipients, &json);
    }
}

/// A connection's place in the [`LocalIndex`], until this drops.
#[derive(Debug)]
pub struct Registration {
    index: Arc<LocalIndex>,
    account: String,
    id: u64,
    dropped: Arc<Notify>,
}

impl Registration {
    /// Resolves once the connection was removed for falling behind.
    pub async fn dropped(&self) {
        self.dropped.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Already gone if it was dropped for falling behind.
        let _ = self.index.lock().remove(&self.account, self.id);
    }
}

/// What request handlers publish to: serializes each event once and hands
/// it to the [`Fanout`].
#[derive(Debug, Clone)]
pub struct Hub {
    local: Arc<LocalIndex>,
    fanout: Arc<dyn Fanout>,
}

impl Default for Hub {
    fn default() -> Self {
        let local = Arc::new(LocalIndex::default());
        Self {
            fanout: local.clone(),
            local,
        }
    }
}

impl Hub {
    /// A hub whose events travel through `fanout`, which must in the end
    /// deliver to `local` the events for this relay's connections.
    pub fn with_fanout(local: Arc<LocalIndex>, fanout: Arc<dyn Fanout>) -> Self {
        Self { local, fanout }
    }

    /// Sends `event` to the connections of `recipients`.
    pub fn publish(&self, recipients: Vec<String>, event: &Event) {
        match serde_json::to_string(event) {
            Ok(json) => self.fanout.fan_out(&recipients, event, Arc::from(json)),
            Err(error) => tracing::error!(%error, "could not serialize an event"),
        }
    }

    /// This relay's connections, where a WebSocket registers.
    pub fn local(&self) -> &Arc<LocalIndex> {
        &self.local
    }

    /// How many connections are registered on this relay.
    pub fn connections(&self) -> usize {
        self.local.connections()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::Ready {
            account_id: "x".into(),
        }
    }

    /// `idle` connections of accounts that are never recipients, one of
    /// `alice`: how many queues one event to alice is offered.
    fn offers_with_idle(idle: usize) -> (u64, usize) {
        let hub = Hub::default();
        let mut held = Vec::new();
        for i in 0..idle {
            let (queue, waiting) = mpsc::channel(4);
            held.push((hub.local().register(&format!("idle{i}"), queue), waiting));
        }
        let (queue, mut alice) = mpsc::channel(4);
        let _alice = hub.local().register("alice", queue);
        assert_eq!(hub.connections(), idle + 1);
        hub.publish(vec!["alice".into()], &event());
        assert!(alice.try_recv().is_ok());
        for (_, waiting) in &mut held {
            assert!(waiting.try_recv().is_err());
        }
        (hub.local().offers(), hub.connections())
    }

    #[test]
    fn an_event_is_offered_to_its_recipients_connections_only() {
        let (few, _) = offers_with_idle(1_000);
        let (many, _) = offers_with_idle(5_000);
        assert_eq!(few, 1);
        assert_eq!(many, 1);
    }

    #[test]
    fn a_full_queue_drops_its_connection_and_a_guard_removes_its_entry() {
        let local = Arc::new(LocalIndex::default());
        let (queue, _waiting) = mpsc::channel(1);
        let slow = local.register("bob", queue);
        let (queue, fast) = mpsc::channel(8);
        let other = local.register("bob", queue);
        let json: Arc<str> = Arc::from("{}");
        // Listed twice, offered once per connection.
        assert_eq!(local.deliver(&["bob".into(), "bob".into()], &json), 2);
        assert_eq!(local.deliver(&["bob".into()], &json), 2);
        assert_eq!(local.connections(), 1);
        assert_eq!(local.dropped(), 1);
        let told = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(1), slow.dropped())
                    .await
                    .is_ok()
            });
        assert!(told, "the dropped connection was not told");
        assert_eq!(local.deliver(&["bob".into()], &json), 1);
        assert_eq!(fast.len(), 3);
        drop(slow);
        assert_eq!(local.connections(), 1);
        drop(other);
        assert_eq!(local.connections(), 0);
        assert_eq!(local.deliver(&["bob".into()], &json), 0);
    }

    #[test]
    fn a_panicking_task_does_not_leak_its_entry() {
        let local = Arc::new(LocalIndex::default());
        let (queue, _waiting) = mpsc::channel(1);
        let registered = local.clone();
        let joined = std::thread::spawn(move || {
            let _registration = registered.register("carol", queue);
            panic!("the connection's task fails");
        })
        .join();
        assert!(joined.is_err());
        assert_eq!(local.connections(), 0);
    }
}
