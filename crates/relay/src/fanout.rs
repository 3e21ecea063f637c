//! Live events across relays sharing one PostgreSQL database.
//!
//! Each relay delivers an event to its own connections at once, and tells
//! the others with a PostgreSQL `NOTIFY` on [`CHANNEL`] carrying a small
//! poke: the recipients and, for a message, only its thread and sequence
//! number (never its envelope); receipts, typing and key changes, which
//! carry no content, travel whole. A relay hearing a message poke reads
//! that message from the database, as any reader would, and delivers it to
//! its own connections. A poke stays far below PostgreSQL's 8000-byte
//! payload limit: a long recipient list is split over several. Pokes
//! queued while one is being sent go together in the next `NOTIFY` (a JSON
//! array), so a busy relay sends few and the others keep up.
//!
//! `NOTIFY` is not durable: a relay whose listening connection drops misses
//! what was sent meanwhile, so it closes its WebSockets when that happens,
//! and clients catch up by cursor as after any reconnect.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use ward_proto::events::Event;

use crate::config::DatabaseUrl;
use crate::events::{Fanout, LocalIndex};

/// The PostgreSQL channel the relays talk on.
pub const CHANNEL: &str = "ward_events";

/// The largest poke (PostgreSQL refuses payloads of 8000 bytes).
const MAX_POKE_BYTES: usize = 4000;

/// The largest `NOTIFY` payload: pokes queued together, as a JSON array.
const MAX_BATCH_BYTES: usize = 7900;

/// How many pokes may wait to be sent before new ones are dropped (with an
/// error logged; the other relays' clients then see those events only
/// when they next catch up).
const POKE_QUEUE: usize = 10_000;

/// What one relay tells the others.
#[derive(Debug, Serialize, Deserialize)]
struct Poke {
    /// The relay that sent it (it ignores its own).
    from: u64,
    /// Who receives it.
    to: Vec<String>,
    /// What happened.
    what: What,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum What {
    /// A message was stored: read it from the database.
    Message { thread_id: String, seq: u64 },
    /// An event without content (receipt, typing, key change), whole.
    Event { event: Event },
}

/// Delivers locally and pokes the other relays.
#[derive(Debug)]
pub struct PostgresFanout {
    local: Arc<LocalIndex>,
    instance: u64,
    pokes: mpsc::Sender<String>,
}

impl PostgresFanout {
    /// Listens on [`CHANNEL`] (its own connection to `url`) and starts the
    /// tasks that send this relay's pokes and deliver the others' to
    /// `local`.
    pub async fn start(
        url: &DatabaseUrl,
        db: AnyPool,
        local: Arc<LocalIndex>,
    ) -> Result<Arc<Self>, sqlx::Error> {
        let mut listener = PgListener::connect(url.expose()).await?;
        listener.listen(CHANNEL).await?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let instance = u64::from_le_bytes(id);
        let (pokes, waiting) = mpsc::channel(POKE_QUEUE);
        tokio::spawn(send_pokes(db.clone(), waiting));
        tokio::spawn(hear_pokes(listener, db, local.clone(), instance));
        Ok(Arc::new(Self {
            local,
            instance,
            pokes,
        }))
    }

    fn poke(&self, to: &[String], what: &What) {
        for payload in pokes(self.instance, to, what) {
            if self.pokes.try_send(payload).is_err() {
                tracing::error!(
                    "live events to other relays are backing up; one was dropped (clients catch up when they reconnect)"
                );
            }
        }
    }
}

impl Fanout for PostgresFanout {
    fn fan_out(&self, recipients: &[String], event: &Event, json: Arc<str>) {
        self.local.deliver(recipients, &json);
        let what = match event {
            Event::Message { thread_id, message } => What::Message {
                thread_id: thread_id.clone(),
                seq: message.seq,
            },
            // Sent by a relay to its own connection only.
            Event::Ready { .. } => return,
            other => What::Event {
                event: other.clone(),
            },
        };
        self.poke(recipients, &what);
    }
}

/// The payloads telling `to` of `what`: one, or several if the recipient
/// list is long.
fn pokes(from: u64, to: &[String], what: &What) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut start = 0;
    while start < to.len() {
        let mut end = to.len();
        loop {
            let poke = PokeRef {
                from,
                to: &to[start..end],
                what,
            };
            match serde_json::to_string(&poke) {
                Ok(json) if json.len() <= MAX_POKE_BYTES || end == start + 1 => {
                    if json.len() <= MAX_POKE_BYTES {
                        payloads.push(json);
                    } else {
                        tracing::error!("a live event is too large to tell other relays");
                    }
                    break;
                }
                Ok(_) => end = start + (end - start).div_ceil(2),
                Err(error) => {
                    tracing::error!(%error, "could not serialize a poke");
                    return payloads;
                }
            }
        }
        start = end;
    }
    payloads
}

/// A `NOTIFY` payload as heard: pokes sent together, or one alone (as
/// relays sent them before batching, so old and new relays can run side
/// by side during an upgrade).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Heard {
    Many(Vec<Poke>),
    One(Poke),
}

impl Heard {
    fn pokes(self) -> Vec<Poke> {
        match self {
            Self::Many(pokes) => pokes,
            Self::One(poke) => vec![poke],
        }
    }
}

/// [`Poke`], borrowed, for sending.
#[derive(Serialize)]
struct PokeRef<'a> {
    from: u64,
    to: &'a [String],
    what: &'a What,
}

/// Sends queued pokes in order, those queued meanwhile together
/// (`pg_notify` outside a transaction is delivered at once). One `NOTIFY`
/// a poke could not keep up with a busy relay: at about 1 000 messages a
/// second on two cores the queue overflowed and thousands were dropped
/// (docs/benchmarks.md).
async fn send_pokes(db: AnyPool, mut waiting: mpsc::Receiver<String>) {
    let mut next: Option<String> = None;
    loop {
        let first = match next.take() {
            Some(poke) => poke,
            None => match waiting.recv().await {
                Some(poke) => poke,
                None => return,
            },
        };
        let (batch, over) = batch(first, || waiting.try_recv().ok());
        next = over;
        if let Err(error) = crate::store::pokes::notify(&db, CHANNEL, &batch).await {
            tracing::warn!(%error, "could not tell other relays of a live event");
        }
    }
}

/// `first` and the pokes `more` gives after it, as one JSON array of at
/// most [`MAX_BATCH_BYTES`]; and the poke taken that did not fit.
fn batch(first: String, mut more: impl FnMut() -> Option<String>) -> (String, Option<String>) {
    let mut batch = format!("[{first}");
    let mut over = None;
    while let Some(poke) = more() {
        if batch.len() + poke.len() + 2 > MAX_BATCH_BYTES {
            over = Some(poke);
            break;
        }
        batch.push(',');
        batch.push_str(&poke);
    }
    batch.push(']');
    (batch, over)
}

/// Delivers the other relays' pokes to this relay's connections, in the
/// order they arrive.
async fn hear_pokes(mut listener: PgListener, db: AnyPool, local: Arc<LocalIndex>, me: u64) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let Ok(heard) = serde_json::from_str::<Heard>(notification.payload()) else {
                    tracing::warn!("ignored a malformed poke on {CHANNEL}");
                    continue;
                };
                for poke in heard.pokes() {
                    if poke.from != me {
                        deliver(&db, &local, poke).await;
                    }
                }
            }
            Ok(None) => {
                let closed = local.drop_all();
                tracing::warn!(
                    closed,
                    "lost the link to other relays' live events; WebSockets closed so their clients catch up"
                );
            }
            Err(error) => {
                tracing::warn!(%error, "listening for other relays' live events failed; retrying");
                local.drop_all();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn deliver(db: &AnyPool, local: &LocalIndex, poke: Poke) {
    let event = match poke.what {
        What::Event { event } => event,
        What::Message { thread_id, seq } => {
            match crate::store::envelopes::at(db, &thread_id, seq).await {
                Ok(Some(message)) => Event::Message { thread_id, message },
                // Deleted since (retention): nothing to show.
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "could not read a message another relay stored; its recipients here catch up on reconnect");
                    return;
                }
            }
        }
    };
    match serde_json::to_string(&event) {
        Ok(json) => {
            local.deliver(&poke.to, &Arc::from(json));
        }
        Err(error) => tracing::error!(%error, "could not serialize an event"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A long recipient list is split so each poke fits; every recipient
    /// is in exactly one, and no poke carries a message's content.
    #[test]
    fn pokes_stay_small_and_name_every_recipient_once() {
        let to: Vec<String> = (0..500).map(|i| format!("acc_{i:040}")).collect();
        let what = What::Message {
            thread_id: "thr_x".into(),
            seq: 7,
        };
        let payloads = pokes(1, &to, &what);
        assert!(payloads.len() > 1);
        let mut named = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_POKE_BYTES);
            let poke: Poke = serde_json::from_str(payload).unwrap();
            assert!(matches!(poke.what, What::Message { seq: 7, .. }));
            named.extend(poke.to);
        }
        assert_eq!(named, to);
        assert_eq!(pokes(1, &to[..2], &what).len(), 1);
    }

    /// Pokes queued together go in one payload under PostgreSQL's limit,
    /// in order; the one that does not fit starts the next.
    #[test]
    fn queued_pokes_go_together_in_order_and_fit() {
        let what = |seq| What::Message {
            thread_id: "thr_x".into(),
            seq,
        };
        let to = ["acc_patient".to_owned(), "acc_clinic".to_owned()];
        let mut queued: std::collections::VecDeque<String> =
            (0..200).flat_map(|seq| pokes(1, &to, &what(seq))).collect();
        let mut sent: Vec<u64> = Vec::new();
        let mut payloads = 0;
        let mut next = queued.pop_front();
        while let Some(first) = next {
            let (payload, over) = batch(first, || queued.pop_front());
            assert!(payload.len() <= MAX_BATCH_BYTES, "{}", payload.len());
            let heard: Vec<Poke> = serde_json::from_str(&payload).unwrap();
            sent.extend(heard.iter().map(|poke| match poke.what {
                What::Message { seq, .. } => seq,
                What::Event { .. } => u64::MAX,
            }));
            payloads += 1;
            next = over.or_else(|| queued.pop_front());
        }
        assert_eq!(sent, (0..200).collect::<Vec<u64>>());
        assert!(payloads < 10, "{payloads} payloads for 200 pokes");
        // Alone, a poke is still an array of one; one sent by a relay from
        // before batching, a bare object, is heard too.
        let single = pokes(1, &to, &what(7)).remove(0);
        let (alone, over) = batch(single.clone(), || None);
        assert!(alone.starts_with('[') && over.is_none());
        for payload in [alone, single] {
            let heard = serde_json::from_str::<Heard>(&payload).unwrap().pokes();
            assert_eq!(heard.len(), 1);
            assert!(matches!(heard[0].what, What::Message { seq: 7, .. }));
        }
    }
}
