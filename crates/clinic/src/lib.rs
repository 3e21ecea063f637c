//! The clinic agent: the other side of the conversation, for demos and
//! tests. It holds the clinic inbox account's keys in a passphrase-protected
//! key file and talks to a relay over HTTP like any client, sealing and
//! opening with `ward-seal`.
//!
//! Its own crate (and `ward-clinic` binary), apart from `ward-relay`: the
//! relay server must not link code that decrypts (it depends on `ward-seal`
//! without the `open` feature).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod attachments;
pub mod audit;
pub mod bot;
mod client;
pub mod pins;
pub mod terminal;
mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use client::{AgentError, Client};
pub use pins::{Checked, Keyring, notice_line};
use reqwest::Method;
use ward_proto::Bytes;
use ward_proto::auth::{ClinicSetupRequest, InviteCreateRequest, InviteCreated, SessionCreated};
use ward_proto::blobs::MAX_ATTACHMENTS_PER_MESSAGE;
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::keys::PublishBundleRequest;
use ward_proto::threads::{
    MAX_THREADS_PER_PAGE, Member, MessagePage, PostMessageRequest, PutEpochRequest, Role,
    SealedKeys, StoredMessage, Thread, ThreadList,
};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keyfile;
use ward_seal::keys::{AccountKeys, SafetyNumber};
use ward_seal::payload::{AttachmentRef, Payload, QuickReplyOption};
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};
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
    /// When the relay stored it (Unix milliseconds).
    pub received_at: u64,
    /// The decrypted content (empty when `held`).
    pub payload: Payload,
    /// Not opened: signed with a key change of the sender's the operator
    /// has not confirmed.
    pub held: bool,
    /// With `read --save-attachments`: what became of each of the payload's
    /// attachments, in order (where it was saved, or why it was not).
    /// Empty otherwise.
    pub saved: Vec<Result<PathBuf, String>>,
}

/// How `read` and `watch` print a message: `#N NAME: TEXT`, then one
/// `    [ID] LABEL` line per quick reply it offers, then one
/// [`attachment_line`] per attachment. Every field is passed through
/// [`terminal::escape`] (the text keeps its line breaks and tabs).
pub fn message_lines(message: &ReadMessage) -> Vec<String> {
    if message.held {
        return vec![format!(
            "#{} {}: [held: signed with {}'s new security key, which is not confirmed; compare safety numbers, then `ward-clinic keys confirm {}`]",
            message.seq,
            terminal::line(&message.sender_name),
            terminal::line(&message.sender_name),
            terminal::line(&message.sender_id)
        )];
    }
    let mut lines = vec![format!(
        "#{} {}: {}",
        message.seq,
        terminal::line(&message.sender_name),
        terminal::escape(&message.payload.text, terminal::Field::Text)
    )];
    for option in &message.payload.quick_reply_options {
        lines.push(format!(
            "    [{}] {}",
            terminal::line(&option.id),
            terminal::line(&option.label)
        ));
    }
    for (index, attachment) in message.payload.attachments.iter().enumerate() {
        lines.push(attachment_line(attachment, message.saved.get(index)));
    }
    lines
}

/// `    [attachment] NAME (TYPE, N bytes)`, then ` saved to PATH` when it was
/// saved, or ` NOT saved: WHY` when saving failed. Every field is passed
/// through [`terminal::escape`].
pub fn attachment_line(
    attachment: &AttachmentRef,
    saved: Option<&Result<PathBuf, String>>,
) -> String {
    let mut line = format!(
        "    [attachment] {} ({}, {} bytes)",
        terminal::line(&attachment.name),
        terminal::line(&attachment.media_type),
        attachment.size
    );
    match saved {
        Some(Ok(path)) => line.push_str(&format!(
            " saved to {}",
            terminal::line(&path.display().to_string())
        )),
        Some(Err(why)) => line.push_str(&format!(" NOT saved: {}", terminal::line(why))),
        None => {}
    }
    line
}

/// What `read` shows: the messages, and how far the thread's other
/// (non-clinic) members had read when it looked.
#[derive(Debug, Clone)]
pub struct ThreadRead {
    /// The subject the patient gave the thread, opened here.
    pub subject: Option<String>,
    /// The decrypted messages.
    pub messages: Vec<ReadMessage>,
    /// The members other than the clinic, with their read receipts.
    pub others: Vec<Member>,
    /// A line in the thread per member key change since the thread began:
    /// (when, Unix milliseconds; [`notice_line`]).
    pub notices: Vec<(u64, String)>,
    /// Key changes the operator has not confirmed, each with both safety
    /// numbers (for standard error).
    pub warnings: Vec<String>,
}

/// `read`'s lines in thread order: each message's [`message_lines`], and
/// each notice before the first message received after it.
pub fn thread_lines(read: &ThreadRead) -> Vec<String> {
    let mut notices: Vec<&(u64, String)> = read.notices.iter().collect();
    notices.sort_by_key(|(at, _)| *at);
    let mut notices = notices.into_iter().peekable();
    let mut lines = Vec::new();
    for message in &read.messages {
        while let Some((_, line)) = notices.next_if(|(at, _)| *at <= message.received_at) {
            lines.push(line.clone());
        }
        lines.extend(message_lines(message));
    }
    lines.extend(notices.map(|(_, line)| line.clone()));
    lines
}

/// One member's read state as `read` prints it: `read by NAME up to #N`
/// (plus ` at HH:MM UTC` when the relay knows when), or
/// `NAME has not read anything yet` (the name through [`terminal::escape`]).
pub fn read_state_line(member: &Member) -> String {
    let name = terminal::line(&member.display_name);
    if member.read_up_to == 0 {
        return format!("{name} has not read anything yet");
    }
    let mut line = format!("read by {name} up to #{}", member.read_up_to);
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
                "could not read the key file {}: {e}. Run `ward-clinic init` first",
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

    /// Opens the key file, signs in, and loads the pinned keys.
    pub async fn connect_pinned(&self) -> Result<(AccountKeys, Client, Keyring), AgentError> {
        let (keys, client) = self.connect().await?;
        let keyring = Keyring::load(&self.key_file, &keys)?;
        Ok((keys, client, keyring))
    }

    /// `keys list`: every pinned account, as stored (no relay needed).
    pub fn pinned(&self) -> Result<Vec<(String, pins::Pin)>, AgentError> {
        Keyring::pins(&self.key_file)
    }

    /// `keys confirm`: accepts `account_id`'s pending new key after the
    /// operator compared its safety number; the numbers before and after.
    pub async fn confirm_key(&self, account_id: &str) -> Result<(String, String), AgentError> {
        let (_, client, mut keyring) = self.connect_pinned().await?;
        keyring.confirm(&client, account_id).await
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
        let (keys, client, mut keyring) = self.connect_pinned().await?;
        let (thread, mut messages, notices, warnings, subject) =
            read_thread(&keys, &client, &mut keyring, thread_id, after).await?;
        if let Some(dir) = save_attachments {
            for message in messages.iter_mut().filter(|m| !m.held) {
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
        Ok(ThreadRead {
            subject,
            messages,
            others,
            notices,
            warnings,
        })
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
        let (keys, client, mut keyring) = self.connect_pinned().await?;
        send(
            &keys,
            &client,
            &mut keyring,
            thread_id,
            text,
            quick_replies,
            None,
            attach,
        )
        .await
    }

    /// `verify-archive`: proves the relay's copy of the thread complete
    /// and unmodified ([`archive::verify`]) and records its head.
    pub async fn verify_archive(&self, thread_id: &str) -> Result<archive::Verified, AgentError> {
        let (_, client, mut keyring) = self.connect_pinned().await?;
        archive::verify(&client, &mut keyring, thread_id).await
    }

    /// `hold`: puts `account_id` on legal hold (`hold`) or releases it; the
    /// hold as the relay stored it.
    pub async fn legal_hold(&self, account_id: &str, hold: bool) -> Result<bool, AgentError> {
        let (_, client) = self.connect().await?;
        let answer: ward_proto::account::LegalHold = client
            .put(
                &format!("/v1/accounts/{account_id}/legal-hold"),
                &ward_proto::account::LegalHoldRequest { hold },
            )
            .await?;
        Ok(answer.hold)
    }

    /// `patient --birth-date` / `--adult`: records patient `account_id`'s
    /// birth date (`YYYY-MM-DD`), or removes it.
    pub async fn set_birth_date(
        &self,
        account_id: &str,
        birth_date: Option<&str>,
    ) -> Result<(), AgentError> {
        let (_, client) = self.connect().await?;
        client
            .send(
                reqwest::Method::PUT,
                &format!("/v1/accounts/{account_id}/birth-date"),
                Some(&ward_proto::caregivers::BirthDateRequest {
                    birth_date: birth_date.map(str::to_owned),
                }),
            )
            .await
    }

    /// `guardian`: invites `name` to help patient `account_id` as their
    /// guardian; the invite code to hand over.
    pub async fn appoint_guardian(
        &self,
        account_id: &str,
        name: &str,
        relationship: ward_proto::caregivers::Relationship,
        contact: &str,
    ) -> Result<InviteCreated, AgentError> {
        let (_, client) = self.connect().await?;
        client
            .post(
                &format!("/v1/accounts/{account_id}/guardians"),
                &ward_proto::caregivers::GuardianInviteRequest {
                    display_name: name.to_owned(),
                    relationship,
                    contact: contact.to_owned(),
                },
            )
            .await
    }

    /// `audit`: `account_id`'s whole access log, newest first, as the
    /// relay serves it to the clinic, every page back to the first entry
    /// (check it with [`audit::verify`]).
    pub async fn access_log(
        &self,
        account_id: &str,
    ) -> Result<Vec<ward_proto::account::AccountEvent>, AgentError> {
        let (_, client) = self.connect().await?;
        let path = format!("/v1/accounts/{account_id}/history");
        let mut log: ward_proto::account::AccountHistory = client.get(&path).await?;
        let mut events = std::mem::take(&mut log.events);
        while let Some(before) = log.earlier_cursor {
            log = client.get(&format!("{path}?before={before}")).await?;
            events.append(&mut log.events);
            // A relay whose cursor does not go back would page forever;
            // what it served is checked as it is.
            if log.earlier_cursor >= Some(before) {
                break;
            }
        }
        Ok(events)
    }

    /// `inbox`, each thread with whether its patient withdrew their
    /// consent to messaging (asked once per patient, on one sign-in).
    pub async fn inbox_with_consent(&self) -> Result<Vec<(Thread, bool)>, AgentError> {
        let (_, client) = self.connect().await?;
        let threads = all_threads(&client).await?;
        let mut withdrawn: HashMap<String, bool> = HashMap::new();
        let mut listed = Vec::with_capacity(threads.len());
        for thread in threads {
            let patient = thread
                .members
                .iter()
                .find(|m| m.role == Role::Patient)
                .map(|m| m.account_id.clone());
            let mut stopped = false;
            if let Some(patient) = patient {
                if let Some(known) = withdrawn.get(&patient) {
                    stopped = *known;
                } else {
                    let status: ward_proto::account::ConsentStatus = client
                        .get(&format!("/v1/accounts/{patient}/consent"))
                        .await?;
                    stopped = status.withdrawn_at.is_some();
                    withdrawn.insert(patient, stopped);
                }
            }
            listed.push((thread, stopped));
        }
        Ok(listed)
    }

    /// Tells the thread's other members the clinic is typing.
    pub async fn typing(&self, thread_id: &str) -> Result<(), AgentError> {
        let (_, client) = self.connect().await?;
        typing(&client, thread_id).await
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

    /// The demo bot: answers what patients write like a triage nurse
    /// would at first ([`bot::reply`]), each reply marked as a demo. In each
    /// thread it answers once for everything the patient sent since the
    /// clinic last wrote there (a thread the clinic already answered is left
    /// alone), first showing "typing…" for [`bot::typing_delay`] unless
    /// `no_delay`. With `once`, handles what is waiting and returns.
    pub async fn bot(&self, once: bool, no_delay: bool) -> Result<(), AgentError> {
        let (keys, client, mut keyring) = self.connect_pinned().await?;
        loop {
            let threads = all_threads(&client).await?;
            for thread in threads.iter().filter(|t| t.unread_count > 0) {
                let mine = thread
                    .members
                    .iter()
                    .find(|m| m.account_id == keys.account_id());
                let after = mine.map_or(0, |m| m.read_up_to);
                // A thread whose member's keys changed (or whose history
                // was rewritten) is left for the operator; the others go on.
                let messages =
                    match read_thread(&keys, &client, &mut keyring, &thread.thread_id, after).await
                    {
                        Ok((_, messages, _, warnings, _)) if warnings.is_empty() => messages,
                        Ok((_, _, _, warnings, _)) => {
                            for warning in warnings {
                                tracing::warn!(thread = thread.thread_id, "{warning}");
                            }
                            continue;
                        }
                        Err(error) => {
                            tracing::warn!(thread = thread.thread_id, %error, "thread skipped");
                            continue;
                        }
                    };
                // What the patient sent since the clinic (the bot or a
                // person) last wrote.
                let since = messages
                    .iter()
                    .rposition(|m| m.sender_id == keys.account_id())
                    .map_or(0, |i| i + 1);
                let unanswered: Vec<&ReadMessage> = messages
                    .get(since..)
                    .unwrap_or_default()
                    .iter()
                    .filter(|m| !m.held)
                    .collect();
                let Some(last) = unanswered.last() else {
                    continue;
                };
                let written = zeroize::Zeroizing::new(
                    unanswered
                        .iter()
                        .filter(|m| m.payload.quick_reply_chosen.is_none())
                        .map(|m| m.payload.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                let answer = bot::reply(&bot::Incoming {
                    category: thread.category,
                    sender_name: &last.sender_name,
                    text: &written,
                    // A client sends a chosen quick reply's label as its text.
                    chosen: last
                        .payload
                        .quick_reply_chosen
                        .as_ref()
                        .map(|_| last.payload.text.as_str()),
                    seed: last.seq,
                });
                // "Typing…" is a courtesy: the reply goes without it.
                if let Err(error) = typing(&client, &thread.thread_id).await {
                    tracing::warn!(thread = %terminal::line(&thread.thread_id), %error, "typing not sent");
                }
                if !no_delay {
                    tokio::time::sleep(bot::typing_delay(&answer)).await;
                }
                send(
                    &keys,
                    &client,
                    &mut keyring,
                    &thread.thread_id,
                    &answer.text,
                    &answer.quick_replies,
                    Some(last.seq),
                    &[],
                )
                .await?;
                tracing::info!(thread = %terminal::line(&thread.thread_id), "bot replied");
            }
            if once {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// `POST /v1/threads/{id}/typing`: the thread's other members see the
/// clinic typing for a few seconds.
async fn typing(client: &Client, thread_id: &str) -> Result<(), AgentError> {
    client
        .send::<()>(
            Method::POST,
            &format!("/v1/threads/{thread_id}/typing"),
            None,
        )
        .await
}

/// Each account's keys as checked against the pins during one command (or
/// for one watched thread): `None` for an account without keys.
pub(crate) type Trusted = HashMap<String, Option<Checked>>;

/// `account_id`'s keys, checked against the pins once per [`Trusted`].
async fn trusted<'a>(
    keyring: &mut Keyring,
    client: &Client,
    trusted: &'a mut Trusted,
    account_id: &str,
    name: &str,
) -> Result<Option<&'a Checked>, AgentError> {
    if !trusted.contains_key(account_id) {
        let checked = keyring.check(client, account_id, name).await?;
        trusted.insert(account_id.to_owned(), checked);
    }
    Ok(trusted.get(account_id).and_then(Option::as_ref))
}

/// The name a member's messages go under in `thread`: a caregiver's with
/// the patient they answer for, "Dana for Sam" (the account id if not
/// listed).
fn member_name(thread: &Thread, account_id: &str) -> String {
    ward_proto::threads::speaker(&thread.members, account_id)
        .unwrap_or_else(|| account_id.to_owned())
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
            // The agent shows no previews: the relay need not look them up.
            None => format!("/v1/threads?limit={MAX_THREADS_PER_PAGE}&previews=false"),
            Some(cursor) => format!(
                "/v1/threads?limit={MAX_THREADS_PER_PAGE}&previews=false&cursor={}",
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

/// A thread's keys by epoch, each opened and checked against its sealer, or
/// why it did not open.
type EpochKeys = HashMap<u32, Result<ThreadKey, String>>;

/// The thread's keys, by epoch. One that does not open (sealed to the
/// clinic's earlier keys, or altered, or sealed with a sealer's key change
/// the operator has not confirmed) fails only what needs that epoch, so a
/// thread continued in a later epoch after `new-keys` still works.
async fn thread_keys(
    keys: &AccountKeys,
    client: &Client,
    keyring: &mut Keyring,
    trust: &mut Trusted,
    thread: &Thread,
) -> Result<EpochKeys, AgentError> {
    let thread_id = thread.thread_id.as_str();
    let sealed: SealedKeys = client.get(&format!("/v1/threads/{thread_id}/keys")).await?;
    let mut opened = HashMap::new();
    for entry in sealed.keys {
        let name = member_name(thread, &entry.sealer_id);
        let sealer = trusted(keyring, client, trust, &entry.sealer_id, &name).await?;
        let parsed = SealedThreadKey::from_bytes(&entry.sealed.0).ok();
        let key = sealer
            .into_iter()
            .flat_map(|c| &c.accepted)
            .find_map(|bundle| {
                parsed
                    .as_ref()
                    .and_then(|s| s.open(keys, bundle, thread_id, entry.epoch).ok())
            })
            .ok_or_else(|| {
                if sealer.is_some_and(|c| c.pending.is_some()) {
                    format!(
                        "the key for epoch {} of {thread_id} is not from {name}'s confirmed key ({name}'s security key changed and is not confirmed: see `ward-clinic keys list`)",
                        entry.epoch
                    )
                } else {
                    format!(
                        "the key for epoch {} of {thread_id} does not open with the clinic's keys (sealed to its earlier keys, before `new-keys`, or altered)",
                        entry.epoch
                    )
                }
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

/// Checks every member of `thread` against the pins: the notices of their
/// key changes since the thread began, and a warning (both safety numbers)
/// for each change not confirmed. Errs for a rewritten history.
async fn check_members(
    client: &Client,
    keyring: &mut Keyring,
    trust: &mut Trusted,
    thread: &Thread,
) -> Result<(Vec<(u64, String)>, Vec<String>), AgentError> {
    let mut notices = Vec::new();
    let mut warnings = Vec::new();
    for member in &thread.members {
        let checked = trusted(
            keyring,
            client,
            trust,
            &member.account_id,
            &member.display_name,
        )
        .await?;
        if let Some(checked) = checked
            && let (Some((new, _)), Some(pinned)) = (&checked.pending, checked.pinned())
        {
            warnings
                .push(pins::changed_error(&member.display_name, &member.account_id, pinned, new).0);
        }
        notices.extend(keyring.notices(
            &member.account_id,
            &member.display_name,
            thread.created_at,
        ));
    }
    Ok((notices, warnings))
}

/// The thread, its opened messages, key-change notices, warnings, and its
/// subject if the patient gave it one and it opens.
type ReadThread = (
    Thread,
    Vec<ReadMessage>,
    Vec<(u64, String)>,
    Vec<String>,
    Option<String>,
);

async fn read_thread(
    keys: &AccountKeys,
    client: &Client,
    keyring: &mut Keyring,
    thread_id: &str,
    after: u64,
) -> Result<ReadThread, AgentError> {
    let thread: Thread = client.get(&format!("/v1/threads/{thread_id}")).await?;
    let mut trust = Trusted::new();
    let (notices, warnings) = check_members(client, keyring, &mut trust, &thread).await?;
    let epoch_keys = thread_keys(keys, client, keyring, &mut trust, &thread).await?;
    let subject = open_subject(client, keyring, &mut trust, &thread, &epoch_keys).await;
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
                open_message(client, keyring, &mut trust, &thread, &epoch_keys, stored).await?,
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
    Ok((thread, out, notices, warnings, subject))
}

/// The subject the thread's patient sealed (docs/crypto.md §6a), if any
/// and if it opens with the patient's confirmed keys; nothing otherwise (a
/// subject is a courtesy: the thread reads without it).
async fn open_subject(
    client: &Client,
    keyring: &mut Keyring,
    trust: &mut Trusted,
    thread: &Thread,
    epoch_keys: &EpochKeys,
) -> Option<String> {
    let sealed = thread.subject.as_ref()?;
    let envelope = Envelope::from_bytes(&sealed.0).ok()?;
    let patient = thread.members.iter().find(|m| m.role == Role::Patient)?;
    if envelope.header().sender_id != patient.account_id {
        return None;
    }
    let key = epoch_key(epoch_keys, envelope.header().epoch, String::new).ok()?;
    let name = member_name(thread, &patient.account_id);
    let sender = trusted(keyring, client, trust, &patient.account_id, &name)
        .await
        .ok()?;
    open_from(sender, &envelope, key, &thread.thread_id)?
        .subject
        .clone()
}

/// Opens `envelope` with any of `sender`'s confirmed keys (the pinned
/// bundle or an earlier one in its verified history).
fn open_from(
    sender: Option<&Checked>,
    envelope: &Envelope,
    key: &ThreadKey,
    thread_id: &str,
) -> Option<Payload> {
    sender
        .into_iter()
        .flat_map(|c| &c.accepted)
        .find_map(|bundle| envelope.open(key, thread_id, bundle).ok())
}

/// Opens a message with its sender's confirmed keys (the pinned bundle or
/// an earlier one in its verified history). One signed only by a key change
/// the operator has not confirmed is `held`, not opened; the key heads it
/// carries are compared with the pins (a split view is refused).
async fn open_message(
    client: &Client,
    keyring: &mut Keyring,
    trust: &mut Trusted,
    thread: &Thread,
    epoch_keys: &EpochKeys,
    stored: &StoredMessage,
) -> Result<ReadMessage, AgentError> {
    let thread_id = thread.thread_id.as_str();
    let envelope = Envelope::from_bytes(&stored.envelope.0)
        .map_err(|_| AgentError::new(format!("message {} is not an envelope", stored.seq)))?;
    let key = epoch_key(epoch_keys, envelope.header().epoch, || {
        format!("no key for message {}'s epoch", stored.seq)
    })?;
    let sender_name = member_name(thread, &stored.sender_id);
    let sender = trusted(keyring, client, trust, &stored.sender_id, &sender_name).await?;
    let payload = open_from(sender, &envelope, key, thread_id);
    let pending = sender.is_some_and(|c| c.pending.is_some());
    let held = payload.is_none() && pending;
    let payload = match payload {
        Some(payload) => payload,
        None if held => Payload::default(),
        None => {
            return Err(AgentError::new(format!(
                "message {} does not open: altered, or not from its sender",
                stored.seq
            )));
        }
    };
    keyring.compare(&sender_name, &payload.key_heads)?;
    Ok(ReadMessage {
        seq: stored.seq,
        sender_id: stored.sender_id.clone(),
        sender_name,
        received_at: stored.received_at,
        payload,
        held,
        saved: Vec::new(),
    })
}

/// Starts `thread`'s epoch after `current`: a fresh key sealed to every
/// member there is now, each with the keys the operator confirmed
/// (`trust`); that epoch and its key. Of two members starting it at once,
/// the relay takes one; the other is told to fetch the thread again.
async fn next_epoch(
    keys: &AccountKeys,
    client: &Client,
    trust: &Trusted,
    thread: &Thread,
    current: u32,
) -> Result<(u32, ThreadKey), AgentError> {
    let next = current
        .checked_add(1)
        .ok_or_else(|| AgentError::new("this thread has used every epoch number"))?;
    let mut members = Vec::with_capacity(thread.members.len());
    for member in &thread.members {
        let bundle = trust
            .get(&member.account_id)
            .and_then(Option::as_ref)
            .and_then(Checked::pinned)
            .ok_or_else(|| {
                AgentError::new(format!(
                    "{} has published no keys, so the thread's next epoch cannot be sealed to them",
                    member.display_name
                ))
            })?;
        members.push(bundle.clone());
    }
    let (key, sealed) = thread_key::rotate(&thread.thread_id, next, keys, &members, &mut os_rng())
        .map_err(|e| AgentError::new(e.to_string()))?;
    client
        .send(
            Method::POST,
            &format!("/v1/threads/{}/epochs", thread.thread_id),
            Some(&PutEpochRequest {
                epoch: next,
                sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
            }),
        )
        .await?;
    Ok((next, key))
}

#[allow(clippy::too_many_arguments)]
async fn send(
    keys: &AccountKeys,
    client: &Client,
    keyring: &mut Keyring,
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
    // Nothing goes into a thread while any member's keys changed without
    // the operator's confirmation, or their history was rewritten.
    let mut trust = Trusted::new();
    for member in &thread.members {
        let checked = keyring
            .require_confirmed(client, &member.account_id, &member.display_name)
            .await?;
        trust.insert(member.account_id.clone(), checked);
    }
    let epoch_keys = thread_keys(keys, client, keyring, &mut trust, &thread).await?;
    // Someone left since this epoch began: they hold its key, so the relay
    // takes nothing more under it. The next epoch goes to the members
    // there are now, with their confirmed keys.
    let rotated = if thread.needs_rekey {
        Some(next_epoch(keys, client, &trust, &thread, epoch).await?)
    } else {
        None
    };
    let (epoch, key) = match &rotated {
        Some((next, key)) => (*next, key),
        None => (
            epoch,
            epoch_key(&epoch_keys, epoch, || {
                format!("the clinic holds no key for epoch {epoch}")
            })?,
        ),
    };
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
    payload.key_heads = keyring.key_heads(thread.members.iter().map(|m| m.account_id.as_str()));
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
    let id_bytes = random::<12>().map_err(|_| AgentError::new("no randomness"))?;
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
        sent_at_ms: now_ms(),
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
    let suffix = random::<6>().map_err(|_| AgentError::new("no randomness"))?;
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

/// `N` random bytes from the operating system.
fn random<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)?;
    Ok(out)
}

/// Now, in Unix milliseconds (a message's `sent_at_ms`).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Now, in Unix seconds (a bundle's `created_at`).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
