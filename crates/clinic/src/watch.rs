//! `clinic watch`: the relay's live events for the clinic, one printed line
//! each: who is typing, new messages (decrypted, as `read` prints them) and
//! the other members' receipts. It only listens: it marks nothing read or
//! delivered.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use ward_proto::events::{Event, EventsAuth, ReceiptKind};
use ward_proto::threads::{StoredMessage, Thread};
use ward_seal::envelope::Envelope;
use ward_seal::keys::AccountKeys;

use super::{
    Agent, AgentError, Client, EpochKeys, Keyring, ReadMessage, Trusted, message_lines,
    open_message, pins, terminal, thread_keys,
};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long the relay has to accept the socket and say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the watcher makes a small API call, so an otherwise quiet
/// watch does not reach the session's idle timeout (the socket alone does
/// not count as activity).
const KEEP_ALIVE: Duration = Duration::from_secs(60);

/// `NAME is typing in THREAD` (both through [`terminal::escape`]).
pub fn typing_line(name: &str, thread_id: &str) -> String {
    format!(
        "{} is typing in {}",
        terminal::line(name),
        terminal::line(thread_id)
    )
}

/// `read by NAME up to #N` or `delivered to NAME up to #N` (the name
/// through [`terminal::escape`]).
pub fn receipt_line(kind: ReceiptKind, name: &str, up_to_seq: u64) -> String {
    let name = terminal::line(name);
    match kind {
        ReceiptKind::Read => format!("read by {name} up to #{up_to_seq}"),
        ReceiptKind::Delivered => format!("delivered to {name} up to #{up_to_seq}"),
    }
}

/// What the watcher knows of one thread: its members (for names), its
/// opened keys and its senders' keys as checked against the pins (to
/// decrypt), fetched when an event first needs them.
struct Known {
    thread: Thread,
    epoch_keys: EpochKeys,
    trust: Trusted,
}

/// The clinic's open event stream, past the relay's `Ready`.
pub struct Watcher {
    keys: AccountKeys,
    client: Client,
    keyring: Keyring,
    socket: Socket,
    thread: Option<String>,
    known: HashMap<String, Known>,
}

impl std::fmt::Debug for Watcher {
    /// Without keys or the session.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("account_id", &self.keys.account_id())
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Known")
            .field("thread_id", &self.thread.thread_id)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Signs in and opens the relay's event stream for the clinic; events
    /// are for `thread` only when given (which must be the clinic's). Once
    /// this returns, nothing that happens is missed: run the [`Watcher`].
    pub async fn watch(&self, thread: Option<&str>) -> Result<Watcher, AgentError> {
        let (keys, client, mut keyring) = self.connect_pinned().await?;
        let mut known = HashMap::new();
        if let Some(thread_id) = thread {
            // Fails now, with the relay's message, for a thread that is not
            // the clinic's, rather than printing nothing forever.
            known.insert(
                thread_id.to_owned(),
                learn(&keys, &client, &mut keyring, thread_id).await?,
            );
        }
        let socket = open_events(&client, keys.account_id()).await?;
        Ok(Watcher {
            keys,
            client,
            keyring,
            socket,
            thread: thread.map(str::to_owned),
            known,
        })
    }
}

/// Opens `/v1/events` with the client's session (token in the first frame,
/// never in the URL) and waits for `Ready`.
async fn open_events(client: &Client, account_id: &str) -> Result<Socket, AgentError> {
    let url = client.events_url()?;
    let token = client
        .token()
        .ok_or_else(|| AgentError::new("not signed in to the relay"))?;
    let auth = serde_json::to_string(&EventsAuth {
        token: token.to_owned(),
    })
    .map_err(|e| AgentError::new(format!("could not encode the sign-in frame: {e}")))?;
    let ready = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| {
                AgentError::new(format!(
                    "could not open the relay's event stream at {url}: {e}. Is the relay running and reachable? Pass --relay"
                ))
            })?;
        socket
            .send(Message::Text(auth.into()))
            .await
            .map_err(|e| AgentError::new(format!("could not sign in to the event stream: {e}")))?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(Event::Ready { account_id: ready }) = serde_json::from_str(&text) {
                        if ready == account_id {
                            return Ok(socket);
                        }
                        return Err(AgentError::new(
                            "the event stream signed in as another account",
                        ));
                    }
                }
                Some(Ok(Message::Close(_))) | None => {
                    return Err(AgentError::new(
                        "the relay closed the event stream at sign-in: the session was refused. Try again",
                    ));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(AgentError::new(format!(
                        "the event stream failed at sign-in: {e}"
                    )));
                }
            }
        }
    };
    tokio::time::timeout(READY_TIMEOUT, ready)
        .await
        .map_err(|_| {
            AgentError::new(format!(
                "the relay did not open the event stream within {} seconds",
                READY_TIMEOUT.as_secs()
            ))
        })?
}

/// Fetches a thread and its keys (checking their sealers' keys).
async fn learn(
    keys: &AccountKeys,
    client: &Client,
    keyring: &mut Keyring,
    thread_id: &str,
) -> Result<Known, AgentError> {
    let thread: Thread = client.get(&format!("/v1/threads/{thread_id}")).await?;
    let mut trust = Trusted::new();
    let epoch_keys = thread_keys(keys, client, keyring, &mut trust, &thread).await?;
    Ok(Known {
        thread,
        epoch_keys,
        trust,
    })
}

impl Watcher {
    /// Writes one line per event to `out` (flushed at once) until `stop`
    /// resolves (then `Ok`), or the relay ends the stream (an error saying
    /// so). An event that cannot be shown (a message that does not open) is
    /// logged as a warning and the watch goes on.
    pub async fn run(
        mut self,
        stop: impl Future<Output = ()>,
        out: &mut impl Write,
    ) -> Result<(), AgentError> {
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        keep_alive.tick().await;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => {
                    let _ = self.socket.close(None).await;
                    return Ok(());
                }
                frame = self.socket.next() => {
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => return Err(AgentError::new(
                            "the relay closed the event stream (the session ended or timed out, or this watch fell too far behind). Run watch again",
                        )),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(AgentError::new(format!(
                            "the event stream failed: {e}. Run watch again"
                        ))),
                    };
                    // Kinds of event this agent does not know yet are skipped.
                    let Ok(event) = serde_json::from_str::<Event>(&text) else {
                        continue;
                    };
                    match self.lines(event).await {
                        Ok(lines) => {
                            for line in lines {
                                writeln!(out, "{line}")
                                    .and_then(|()| out.flush())
                                    .map_err(|e| AgentError::new(format!("could not print: {e}")))?;
                            }
                        }
                        Err(error) => tracing::warn!(%error, "an event could not be shown"),
                    }
                }
                _ = keep_alive.tick() => {
                    if let Err(error) = self.client.get::<ward_proto::auth::ClinicInfo>("/v1/clinic").await {
                        tracing::warn!(%error, "could not keep the session alive");
                    }
                }
            }
        }
    }

    /// The lines for one event (none for events of other threads, the
    /// clinic's own receipts, `Ready`, a caregiver's `AccessEnded`,
    /// `ThreadShared`, `ThreadUnshared` and `GrantChanged` (never sent to a
    /// clinic) and kinds this agent does not know).
    async fn lines(&mut self, event: Event) -> Result<Vec<String>, AgentError> {
        let thread_id = match &event {
            Event::Ready { .. }
            | Event::AccessEnded { .. }
            | Event::ThreadShared { .. }
            | Event::ThreadUnshared { .. }
            | Event::GrantChanged { .. }
            | Event::Unknown => {
                return Ok(Vec::new());
            }
            Event::KeyChanged { account_id } => return self.key_changed(account_id).await,
            Event::Message { thread_id, .. }
            | Event::Receipt { thread_id, .. }
            | Event::Typing { thread_id, .. } => thread_id.clone(),
        };
        if self.thread.as_ref().is_some_and(|only| *only != thread_id) {
            return Ok(Vec::new());
        }
        match event {
            Event::Ready { .. }
            | Event::KeyChanged { .. }
            | Event::AccessEnded { .. }
            | Event::ThreadShared { .. }
            | Event::ThreadUnshared { .. }
            | Event::GrantChanged { .. }
            | Event::Unknown => Ok(Vec::new()),
            Event::Typing { account_id, .. } => {
                let name = self.name(&thread_id, &account_id).await?;
                Ok(vec![typing_line(&name, &thread_id)])
            }
            Event::Receipt {
                account_id,
                kind,
                up_to_seq,
                ..
            } => {
                if account_id == self.keys.account_id() {
                    return Ok(Vec::new());
                }
                let name = self.name(&thread_id, &account_id).await?;
                Ok(vec![receipt_line(kind, &name, up_to_seq)])
            }
            Event::Message { message, .. } => {
                let opened = self.open(&thread_id, &message).await?;
                Ok(message_lines(&opened))
            }
        }
    }

    /// A member's keys changed: checks them against the pins now (a
    /// rewritten history is an error, said on standard error) and prints
    /// the notice in every watched thread they share with the clinic, with
    /// both safety numbers while the change is not confirmed.
    async fn key_changed(&mut self, account_id: &str) -> Result<Vec<String>, AgentError> {
        // What was checked before no longer holds, whatever follows.
        for known in self.known.values_mut() {
            known.trust.remove(account_id);
        }
        let shared: Vec<Thread> = super::all_threads(&self.client)
            .await?
            .into_iter()
            .filter(|t| self.thread.as_ref().is_none_or(|only| *only == t.thread_id))
            .filter(|t| t.members.iter().any(|m| m.account_id == account_id))
            .collect();
        let Some(name) = shared.first().map(|t| super::member_name(t, account_id)) else {
            return Ok(Vec::new());
        };
        let checked = self.keyring.check(&self.client, account_id, &name).await?;
        let mut lines = Vec::new();
        if let Some((new, at)) = checked.as_ref().and_then(|c| c.pending.as_ref()) {
            for thread in &shared {
                lines.push(format!(
                    "{}: {}",
                    terminal::line(&thread.thread_id),
                    pins::notice_line(&name, *at)
                ));
            }
            if let Some(pinned) = checked.as_ref().and_then(|c| c.pinned()) {
                lines.push(pins::changed_error(&name, account_id, pinned, new).0);
            }
        }
        Ok(lines)
    }

    /// What is known of `thread_id`, fetched now if nothing is yet, or
    /// again with `refresh` (a member or epoch added since); the senders'
    /// bundles already fetched are kept.
    async fn known(&mut self, thread_id: &str, refresh: bool) -> Result<&mut Known, AgentError> {
        if refresh || !self.known.contains_key(thread_id) {
            let fresh = learn(&self.keys, &self.client, &mut self.keyring, thread_id).await?;
            self.known.insert(thread_id.to_owned(), fresh);
        }
        self.known
            .get_mut(thread_id)
            .ok_or_else(|| AgentError::new(format!("{thread_id} is not known")))
    }

    /// A member's display name (the account id if the relay does not list
    /// them as a member).
    async fn name(&mut self, thread_id: &str, account_id: &str) -> Result<String, AgentError> {
        let listed = |known: &Known| {
            known
                .thread
                .members
                .iter()
                .find(|m| m.account_id == account_id)
                .map(|m| m.display_name.clone())
        };
        if let Some(name) = listed(self.known(thread_id, false).await?) {
            return Ok(name);
        }
        // Someone who joined since the thread was fetched.
        Ok(listed(self.known(thread_id, true).await?).unwrap_or_else(|| account_id.to_owned()))
    }

    /// Decrypts a new message as `read` does. What it needs is fetched when
    /// missing (a new thread, epoch or member); if it does not open with
    /// what was fetched before (a member's keys replaced since), once more
    /// with everything fetched afresh (and checked against the pins again).
    async fn open(
        &mut self,
        thread_id: &str,
        stored: &StoredMessage,
    ) -> Result<ReadMessage, AgentError> {
        let had = self.known.contains_key(thread_id);
        let stale = {
            let known = self.known(thread_id, false).await?;
            let epoch = Envelope::from_bytes(&stored.envelope.0)
                .map(|e| e.header().epoch)
                .ok();
            let new_epoch = epoch.is_some_and(|e| !known.epoch_keys.contains_key(&e));
            let new_member = !known
                .thread
                .members
                .iter()
                .any(|m| m.account_id == stored.sender_id);
            new_epoch || new_member
        };
        let opened = self.open_with_known(thread_id, stale, stored).await;
        if opened.is_err() && had {
            self.known.remove(thread_id);
            return self.open_with_known(thread_id, false, stored).await;
        }
        opened
    }

    async fn open_with_known(
        &mut self,
        thread_id: &str,
        refresh: bool,
        stored: &StoredMessage,
    ) -> Result<ReadMessage, AgentError> {
        self.known(thread_id, refresh).await?;
        let client = &self.client;
        let known = self
            .known
            .get_mut(thread_id)
            .ok_or_else(|| AgentError::new(format!("{thread_id} is not known")))?;
        open_message(
            client,
            &mut self.keyring,
            &mut known.trust,
            &known.thread,
            &known.epoch_keys,
            stored,
        )
        .await
    }
}
