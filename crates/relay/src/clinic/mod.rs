//! The clinic agent: the other side of the conversation, for demos and
//! tests. It holds the clinic inbox account's keys in a passphrase-protected
//! key file and talks to a relay over HTTP like any client, sealing and
//! opening with `ward-seal`.

pub mod attachments;
mod client;
mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use client::{AgentError, Client};
use reqwest::Method;
use ward_proto::Bytes;
use ward_proto::auth::{ClinicSetupRequest, InviteCreateRequest, InviteCreated, SessionCreated};
use ward_proto::blobs::MAX_ATTACHMENTS_PER_MESSAGE;
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::keys::{BundleResponse, PublishBundleRequest};
use ward_proto::threads::{
    MAX_THREADS_PER_PAGE, Member, MessagePage, PostMessageRequest, Role, SealedKeys, StoredMessage,
    Thread, ThreadList,
};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keyfile;
use ward_seal::keys::{AccountKeys, PublicBundle, SafetyNumber};
use ward_seal::payload::{AttachmentRef, Payload, QuickReplyOption};
use ward_seal::random::os_rng;
use ward_seal::thread_key::{SealedThreadKey, ThreadKey};
use ward_seal::vault::RecoveryParams;
pub use watch::{Watcher, receipt_line, typing_line};

/// The environment variable holding the key file's passphrase.
pub const PASSPHRASE_ENV: &str = "WARD_CLINIC_PASSPHRASE";

/// Where the agent connects and keeps its keys.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The relay's base URL.
    pub relay: String,
    /// The key file.
    pub key_file: PathBuf,
    /// Its passphrase.
    pub passphrase: String,
}

/// One decrypted message, as printed.
#[derive(Debug, Clone)]
pub struct ReadMessage {
    /// Its sequence number.
    pub seq: u64,
    /// The sender's account.
    pub sender_id: String,
    /// The sender's name.
    pub sender_name: String,
    /// The decrypted content.
    pub payload: Payload,
    /// With `read --save-attachments`: what became of each of the payload's
    /// attachments, in order (where it was saved, or why it was not).
    /// Empty otherwise.
    pub saved: Vec<Result<PathBuf, String>>,
}

/// How `read` and `watch` print a message: `#N NAME: TEXT`, then one
/// `    [ID] LABEL` line per quick reply it offers, then one
/// [`attachment_line`] per attachment.
pub fn message_lines(message: &ReadMessage) -> Vec<String> {
    let mut lines = vec![format!(
        "#{} {}: {}",
        message.seq, message.sender_name, message.payload.text
    )];
    for option in &message.payload.quick_reply_options {
        lines.push(format!("    [{}] {}", option.id, option.label));
    }
    for (index, attachment) in message.payload.attachments.iter().enumerate() {
        lines.push(attachment_line(attachment, message.saved.get(index)));
    }
    lines
}

/// `    [attachment] NAME (TYPE, N bytes)`, then ` saved to PATH` when it was
/// saved, or ` NOT saved: WHY` when saving failed. The sender's name and
/// type are shown with control characters as `?`.
pub fn attachment_line(
    attachment: &AttachmentRef,
    saved: Option<&Result<PathBuf, String>>,
) -> String {
    let mut line = format!(
        "    [attachment] {} ({}, {} bytes)",
        attachments::printable(&attachment.name),
        attachments::printable(&attachment.media_type),
        attachment.size
    );
    match saved {
        Some(Ok(path)) => line.push_str(&format!(" saved to {}", path.display())),
        Some(Err(why)) => line.push_str(&format!(" NOT saved: {why}")),
        None => {}
    }
    line
}

/// What `read` shows: the messages, and how far the thread's other
/// (non-clinic) members had read when it looked.
#[derive(Debug, Clone)]
pub struct ThreadRead {
    /// The decrypted messages.
    pub messages: Vec<ReadMessage>,
    /// The members other than the clinic, with their read receipts.
    pub others: Vec<Member>,
}

/// One member's read state as `read` prints it: `read by NAME up to #N`
/// (plus ` at HH:MM UTC` when the relay knows when), or
/// `NAME has not read anything yet`.
pub fn read_state_line(member: &Member) -> String {
    if member.read_up_to == 0 {
        return format!("{} has not read anything yet", member.display_name);
    }
    let mut line = format!(
        "read by {} up to #{}",
        member.display_name, member.read_up_to
    );
    if let Some(ms) = member.read_at {
        let minutes = (ms / 60_000) % (24 * 60);
        line.push_str(&format!(" at {:02}:{:02} UTC", minutes / 60, minutes % 60));
    }
    line
}

impl Agent {
    /// Creates the clinic account with the relay's setup code, publishes its
    /// keys and writes the key file. Refuses to overwrite a key file.
    pub async fn init(&self, setup_code: &str, name: &str) -> Result<String, AgentError> {
        if self.key_file.exists() {
            return Err(AgentError::new(format!(
                "{} already exists; the clinic is set up. Remove it only if you mean to start over",
                self.key_file.display()
            )));
        }
        let mut client = Client::new(&self.relay);
        let session: SessionCreated = client
            .post(
                "/v1/clinic/setup",
                &ClinicSetupRequest {
                    setup_code: setup_code.trim().to_owned(),
                    display_name: name.to_owned(),
                },
            )
            .await?;
        let keys = AccountKeys::generate(&session.account_id, unix_now(), &mut os_rng())
            .map_err(|e| AgentError::new(e.to_string()))?;
        client = client.with_token(session.token);
        client
            .send(
                Method::PUT,
                "/v1/keys/me",
                Some(&PublishBundleRequest {
                    bundle: Bytes(keys.bundle().to_bytes()),
                }),
            )
            .await?;
        let file = keyfile::seal(
            &keys,
            &self.passphrase,
            RecoveryParams::default(),
            &mut os_rng(),
        )
        .map_err(|e| AgentError::new(e.to_string()))?;
        write_private(&self.key_file, &file).map_err(|e| {
            AgentError::new(format!("could not write {}: {e}", self.key_file.display()))
        })?;
        Ok(session.account_id)
    }

    /// Opens the key file and signs in.
    pub async fn connect(&self) -> Result<(AccountKeys, Client), AgentError> {
        let bytes = std::fs::read(&self.key_file).map_err(|e| {
            AgentError::new(format!(
                "could not read the key file {}: {e}. Run `ward-relay clinic init` first",
                self.key_file.display()
            ))
        })?;
        let keys = keyfile::open(&bytes, &self.passphrase).map_err(|_| {
            AgentError::new(format!(
                "wrong passphrase for {} (or the file is damaged)",
                self.key_file.display()
            ))
        })?;
        let mut client = Client::new(&self.relay);
        client.key_login(&keys).await?;
        Ok((keys, client))
    }

    /// Creates a patient invite; returns the code to hand over.
    pub async fn invite(&self, name: &str, contact: &str) -> Result<InviteCreated, AgentError> {
        let (_, client) = self.connect().await?;
        client
            .post(
                "/v1/invites",
                &InviteCreateRequest {
                    display_name: name.to_owned(),
                    contact: contact.to_owned(),
                },
            )
            .await
    }

    /// The clinic's threads: every page of them, newest activity first.
    pub async fn inbox(&self) -> Result<Vec<Thread>, AgentError> {
        let (_, client) = self.connect().await?;
        all_threads(&client).await
    }

    /// Decrypts a thread's messages after `after` and marks them read; also
    /// returns how far the other members have read (their receipts, as
    /// fetched before the clinic's own). With `save_attachments`, every
    /// attachment is downloaded, decrypted, checked and saved in that
    /// directory (created if missing); one that fails is reported in its
    /// message's `saved` and does not stop the others.
    pub async fn read(
        &self,
        thread_id: &str,
        after: u64,
        save_attachments: Option<&Path>,
    ) -> Result<ThreadRead, AgentError> {
        if let Some(dir) = save_attachments {
            std::fs::create_dir_all(dir)
                .map_err(|e| AgentError::new(format!("could not create {}: {e}", dir.display())))?;
        }
        let (keys, client) = self.connect().await?;
        let (thread, mut messages) = read_thread(&keys, &client, thread_id, after).await?;
        if let Some(dir) = save_attachments {
            for message in &mut messages {
                for attachment in &message.payload.attachments {
                    let saved = attachments::save(&client, attachment, dir).await;
                    message.saved.push(saved.map_err(|e| e.0));
                }
            }
        }
        let others = thread
            .members
            .into_iter()
            .filter(|m| m.role != Role::Clinic)
            .collect();
        Ok(ThreadRead { messages, others })
    }

    /// Sends `text` (with optional quick replies and attached files) to a
    /// thread. Each file is encrypted with a fresh key and uploaded first.
    pub async fn reply(
        &self,
        thread_id: &str,
        text: &str,
        quick_replies: &[String],
        attach: &[PathBuf],
    ) -> Result<u64, AgentError> {
        let (keys, client) = self.connect().await?;
        send(&keys, &client, thread_id, text, quick_replies, None, attach).await
    }

    /// Tells the thread's other members the clinic is typing.
    pub async fn typing(&self, thread_id: &str) -> Result<(), AgentError> {
        let (_, client) = self.connect().await?;
        client
            .send::<()>(
                Method::POST,
                &format!("/v1/threads/{thread_id}/typing"),
                None,
            )
            .await
    }

    /// Replaces the clinic's account keys with fresh ones for the same
    /// account (as when its device is replaced): publishes the new bundle and
    /// rewrites the key file under the same passphrase; returns the new
    /// safety number. Thread keys sealed to the old keys no longer open.
    ///
    /// The new key file is written beside the old one first, then the bundle
    /// is published, then the file is renamed over the old one: if publishing
    /// fails, the old key file (still the published one) is kept.
    pub async fn new_keys(&self) -> Result<SafetyNumber, AgentError> {
        let (old, client) = self.connect().await?;
        let keys = AccountKeys::generate(old.account_id(), unix_now(), &mut os_rng())
            .map_err(|e| AgentError::new(e.to_string()))?;
        let file = keyfile::seal(
            &keys,
            &self.passphrase,
            RecoveryParams::default(),
            &mut os_rng(),
        )
        .map_err(|e| AgentError::new(e.to_string()))?;
        let temp = temp_beside(&self.key_file)?;
        write_private(&temp, &file).map_err(|e| {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                let _ = std::fs::remove_file(&temp);
            }
            AgentError::new(format!(
                "could not write the new key file {}: {e}; nothing changed",
                temp.display()
            ))
        })?;
        let published = client
            .send(
                Method::PUT,
                "/v1/keys/me",
                Some(&PublishBundleRequest {
                    bundle: Bytes(keys.bundle().to_bytes()),
                }),
            )
            .await;
        if let Err(error) = published {
            let _ = std::fs::remove_file(&temp);
            return Err(AgentError::new(format!(
                "the relay did not take the new keys: {error}. The old key file {} is unchanged and still in use",
                self.key_file.display()
            )));
        }
        std::fs::rename(&temp, &self.key_file).map_err(|e| {
            AgentError::new(format!(
                "the relay now has the new keys, but {} could not replace {}: {e}. Move it there yourself: the old key file no longer signs in",
                temp.display(),
                self.key_file.display()
            ))
        })?;
        sync_parent(&self.key_file);
        Ok(keys.bundle().safety_number())
    }

    /// Answers every new patient message with a canned reply and two quick
    /// replies. With `once`, handles what is waiting and returns.
    pub async fn bot(&self, once: bool) -> Result<(), AgentError> {
        let (keys, client) = self.connect().await?;
        loop {
            let threads = all_threads(&client).await?;
            for thread in threads.iter().filter(|t| t.unread_count > 0) {
                let mine = thread
                    .members
                    .iter()
                    .find(|m| m.account_id == keys.account_id());
                let after = mine.map_or(0, |m| m.read_up_to);
                let (_, messages) = read_thread(&keys, &client, &thread.thread_id, after).await?;
                for message in messages {
                    if message.sender_id == keys.account_id() {
                        continue;
                    }
                    let (text, offers): (String, Vec<String>) = match &message.payload.quick_reply_chosen {
                        Some(_) => ("Thank you, we have your answer. We will be in touch soon.".into(), Vec::new()),
                        None => (
                            "Thanks for your message. A nurse will reply within one business day. If this is an emergency, call 911.".into(),
                            vec!["Book an appointment".into(), "Call me back".into()],
                        ),
                    };
                    send(
                        &keys,
                        &client,
                        &thread.thread_id,
                        &text,
                        &offers,
                        Some(message.seq),
                        &[],
                    )
                    .await?;
                    tracing::info!(thread = thread.thread_id, "bot replied");
                }
            }
            if once {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// The most pages [`all_threads`] reads: 2 000 000 threads at 200 a page.
const MAX_THREAD_PAGES: usize = 10_000;

/// Every thread the client's account is in, reading `GET /v1/threads` page
/// after page until the relay says there is no next one: one patient's
/// hundreds of threads cannot push another patient's out of the clinic's
/// view. A thread the relay serves twice is kept once.
pub async fn all_threads(client: &Client) -> Result<Vec<Thread>, AgentError> {
    let mut threads: Vec<Thread> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_THREAD_PAGES {
        let path = match &cursor {
            None => format!("/v1/threads?limit={MAX_THREADS_PER_PAGE}"),
            Some(cursor) => format!(
                "/v1/threads?limit={MAX_THREADS_PER_PAGE}&cursor={}",
                url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
            ),
        };
        let page: ThreadList = client.get(&path).await?;
        let empty = page.threads.is_empty();
        for thread in page.threads {
            if seen.insert(thread.thread_id.clone()) {
                threads.push(thread);
            }
        }
        match page.next_cursor {
            Some(next) if !empty => cursor = Some(next),
            Some(_) => {
                return Err(AgentError::new(
                    "the relay sent an empty page of threads that is not the last; try again, and report it if it persists",
                ));
            }
            None => return Ok(threads),
        }
    }
    Err(AgentError::new(format!(
        "the relay sent more than {MAX_THREAD_PAGES} pages of threads; stopped reading (report it: no clinic has that many)"
    )))
}

async fn bundle(client: &Client, account_id: &str) -> Result<PublicBundle, AgentError> {
    let response: BundleResponse = client.get(&format!("/v1/keys/{account_id}")).await?;
    PublicBundle::from_bytes(&response.bundle.0)
        .map_err(|e| AgentError::new(format!("{account_id}'s key bundle is invalid: {e}")))
}

/// A thread's keys by epoch, each opened and checked against its sealer, or
/// why it did not open.
type EpochKeys = HashMap<u32, Result<ThreadKey, String>>;

/// The thread's keys, by epoch. One that does not open (sealed to the
/// clinic's earlier keys, or altered) fails only what needs that epoch, so
/// a thread continued in a later epoch after `new-keys` still works.
async fn thread_keys(
    keys: &AccountKeys,
    client: &Client,
    thread_id: &str,
) -> Result<EpochKeys, AgentError> {
    let sealed: SealedKeys = client.get(&format!("/v1/threads/{thread_id}/keys")).await?;
    let mut opened = HashMap::new();
    for entry in sealed.keys {
        let sealer = bundle(client, &entry.sealer_id).await?;
        let key = SealedThreadKey::from_bytes(&entry.sealed.0)
            .and_then(|s| s.open(keys, &sealer, thread_id, entry.epoch))
            .map_err(|_| {
                format!(
                    "the key for epoch {} of {thread_id} does not open with the clinic's keys (sealed to its earlier keys, before `new-keys`, or altered)",
                    entry.epoch
                )
            });
        opened.insert(entry.epoch, key);
    }
    Ok(opened)
}

/// The opened key for `epoch`, or why there is none.
fn epoch_key(
    epoch_keys: &EpochKeys,
    epoch: u32,
    missing: impl FnOnce() -> String,
) -> Result<&ThreadKey, AgentError> {
    match epoch_keys.get(&epoch) {
        Some(Ok(key)) => Ok(key),
        Some(Err(why)) => Err(AgentError::new(why.clone())),
        None => Err(AgentError::new(missing())),
    }
}

async fn read_thread(
    keys: &AccountKeys,
    client: &Client,
    thread_id: &str,
    after: u64,
) -> Result<(Thread, Vec<ReadMessage>), AgentError> {
    let thread: Thread = client.get(&format!("/v1/threads/{thread_id}")).await?;
    let epoch_keys = thread_keys(keys, client, thread_id).await?;
    let mut bundles: HashMap<String, PublicBundle> = HashMap::new();
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let page: MessagePage = client
            .get(&format!(
                "/v1/threads/{thread_id}/messages?after={cursor}&limit=200"
            ))
            .await?;
        for stored in &page.messages {
            out.push(
                open_message(
                    client,
                    thread_id,
                    &thread,
                    &epoch_keys,
                    &mut bundles,
                    stored,
                )
                .await?,
            );
        }
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    if let Some(last) = out.last() {
        client
            .send(
                Method::POST,
                &format!("/v1/threads/{thread_id}/receipts"),
                Some(&ReceiptRequest {
                    kind: ReceiptKind::Read,
                    up_to_seq: last.seq,
                }),
            )
            .await?;
    }
    Ok((thread, out))
}

async fn open_message(
    client: &Client,
    thread_id: &str,
    thread: &Thread,
    epoch_keys: &EpochKeys,
    bundles: &mut HashMap<String, PublicBundle>,
    stored: &StoredMessage,
) -> Result<ReadMessage, AgentError> {
    let envelope = Envelope::from_bytes(&stored.envelope.0)
        .map_err(|_| AgentError::new(format!("message {} is not an envelope", stored.seq)))?;
    let key = epoch_key(epoch_keys, envelope.header().epoch, || {
        format!("no key for message {}'s epoch", stored.seq)
    })?;
    if !bundles.contains_key(&stored.sender_id) {
        bundles.insert(
            stored.sender_id.clone(),
            bundle(client, &stored.sender_id).await?,
        );
    }
    let sender = &bundles[&stored.sender_id];
    let payload = envelope.open(key, thread_id, sender).map_err(|_| {
        AgentError::new(format!(
            "message {} does not open: altered, or not from its sender",
            stored.seq
        ))
    })?;
    let sender_name = thread
        .members
        .iter()
        .find(|m| m.account_id == stored.sender_id)
        .map_or_else(|| stored.sender_id.clone(), |m| m.display_name.clone());
    Ok(ReadMessage {
        seq: stored.seq,
        sender_id: stored.sender_id.clone(),
        sender_name,
        payload,
        saved: Vec::new(),
    })
}

async fn send(
    keys: &AccountKeys,
    client: &Client,
    thread_id: &str,
    text: &str,
    quick_replies: &[String],
    in_reply_to_seq: Option<u64>,
    attach: &[PathBuf],
) -> Result<u64, AgentError> {
    if attach.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(AgentError::new(format!(
            "a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments; send the rest in another message"
        )));
    }
    let thread: Thread = client.get(&format!("/v1/threads/{thread_id}")).await?;
    let epoch = thread
        .current_epoch
        .ok_or_else(|| AgentError::new("this thread has no keys yet; the patient starts it"))?;
    let epoch_keys = thread_keys(keys, client, thread_id).await?;
    let key = epoch_key(&epoch_keys, epoch, || {
        format!("the clinic holds no key for epoch {epoch}")
    })?;
    let mut payload = Payload::text(text);
    payload.quick_reply_options = quick_replies
        .iter()
        .enumerate()
        .map(|(i, label)| QuickReplyOption {
            id: format!("q{}", i + 1),
            label: label.clone(),
        })
        .collect();
    payload.in_reply_to = in_reply_to_seq.map(|seq| format!("seq:{seq}"));
    // Uploaded once the thread's key is known to open: no orphan uploads
    // for a message that could not be sealed.
    for path in attach {
        payload
            .attachments
            .push(attachments::upload(client, path).await?);
    }
    let blob_ids = payload
        .attachments
        .iter()
        .map(|a| a.blob_id.clone())
        .collect();
    let id_bytes = crate::secrets::random::<12>().map_err(|_| AgentError::new("no randomness"))?;
    let header = Header {
        thread_id: thread_id.to_owned(),
        epoch,
        message_id: format!(
            "clinic-{}",
            id_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        sender_id: keys.account_id().to_owned(),
        sent_at_ms: u64::try_from(crate::secrets::now_ms()).unwrap_or(0),
    };
    let sealed = envelope::seal(keys, key, header, &payload, &mut os_rng())
        .map_err(|e| AgentError::new(e.to_string()))?;
    let stored: StoredMessage = client
        .post(
            &format!("/v1/threads/{thread_id}/messages"),
            &PostMessageRequest {
                envelope: Bytes(sealed.to_bytes()),
                attachments: blob_ids,
            },
        )
        .await?;
    Ok(stored.seq)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A fresh path beside `path` (same directory, so a rename is atomic).
fn temp_beside(path: &Path) -> Result<PathBuf, AgentError> {
    let name = path
        .file_name()
        .ok_or_else(|| AgentError::new(format!("{} is not a file name", path.display())))?;
    let suffix = crate::secrets::random::<6>().map_err(|_| AgentError::new("no randomness"))?;
    let mut temp = name.to_os_string();
    temp.push(format!(
        ".new-{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    Ok(path.with_file_name(temp))
}

/// Makes a rename in `path`'s directory durable, where the platform allows.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Now, in Unix seconds (a bundle's `created_at`).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
