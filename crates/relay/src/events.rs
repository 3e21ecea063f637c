//! Fan-out of live events to connected WebSockets. Each event is serialized
//! once and tagged with the accounts allowed to see it.

use std::sync::Arc;

use tokio::sync::broadcast;
use ward_proto::events::Event;

/// One event on its way: who may see it, and its JSON.
#[derive(Debug)]
pub struct Routed {
    /// Accounts that receive it.
    pub recipients: Vec<String>,
    /// The serialized [`Event`].
    pub json: String,
}

/// The hub every connection subscribes to.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Routed>>,
}

impl Default for Hub {
    fn default() -> Self {
        // A connection that falls this far behind is closed and catches up
        // by cursor on reconnect, rather than holding memory for it.
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }
}

impl Hub {
    /// Sends `event` to the connections of `recipients`.
    pub fn publish(&self, recipients: Vec<String>, event: &Event) {
        match serde_json::to_string(event) {
            // No receiver connected is fine: nobody is listening.
            Ok(json) => {
                let _ = self.tx.send(Arc::new(Routed { recipients, json }));
            }
            Err(error) => tracing::error!(%error, "could not serialize an event"),
        }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Routed>> {
        self.tx.subscribe()
    }

    /// How many connections are subscribed.
    pub fn connections(&self) -> usize {
        self.tx.receiver_count()
    }
}
