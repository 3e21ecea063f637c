//! The inbox's cryptography: thread keys opened and checked against their
//! sealers, envelopes sealed and opened with the unlocked account's keys.
//! Every function here that stores into the inbox after an await first
//! checks that the session it began in is still current.

use leptos::prelude::*;
use ward_proto::threads::{StoredMessage, Thread};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::PublicBundle;
use ward_seal::payload::{Category, Payload, QuickReplyChosen, SeenKeyHead};
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};

use super::pinning::{self, Pin, Verdict};
use super::{Delivery, Inbox, KeyChange, Shown};
use crate::api;
use crate::attachments::Attachment;
use crate::i18n::{Text, t};
use crate::session::{Session, SessionError};
use crate::store::bundles;

/// A fresh message id: 16 random bytes, hex.
pub(super) fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("m-{hex}")
}

fn token(session: Session) -> Result<crate::api::SessionToken, SessionError> {
    session.token().ok_or(SessionError::Interrupted)
}

fn safety_number(bundle: &PublicBundle) -> String {
    bundle
        .safety_number()
        .groups()
        .iter()
        .map(|g| format!("{g:05}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A member's bundle, from their whole key history, verified and checked
/// against what this device pinned (crypto.md, key history): a history
/// that does not extend the pinned head is a rewrite (nothing is sealed to
/// or opened from them again until the patient calls the clinic); a new
/// current bundle is a key change (the thread warns and holds sending, and
/// the pinned one stays in use until the patient confirms). `fresh` asks
/// the relay again instead of the cache.
pub(super) async fn bundle(
    inbox: &Inbox,
    session: Session,
    account_id: &str,
    fresh: bool,
) -> Result<PublicBundle, SessionError> {
    let ticket = session.ticket();
    if inbox.rewritten.with_untracked(|r| r.contains(account_id)) {
        return Err(SessionError::KeyHistoryRewritten);
    }
    if !fresh && let Some(found) = inbox.bundles.with_value(|b| b.get(account_id).cloned()) {
        return Ok(found);
    }
    let me = session.account_id.get_untracked().unwrap_or_default();
    if account_id == me {
        let mine = session
            .with_account(|account| account.keys().bundle().clone())
            .ok_or(SessionError::Interrupted)?;
        own_head(inbox, session, &mine).await;
        return Ok(mine);
    }
    let response = api::account::key_history(&token(session)?, account_id)
        .await?
        .ok_or(SessionError::MemberKeysMissing)?;
    session.check(ticket)?;
    let Ok(history) = pinning::verify(account_id, &response) else {
        return Err(inbox.mark_rewritten(account_id));
    };
    inbox.key_events.update(|events| {
        events.insert(account_id.to_owned(), pinning::changes(&response));
    });
    // No storage on this device: what this tab pinned is all there is.
    let stored = match bundles::pinned(&me, account_id).await {
        Ok(stored) => stored,
        Err(_) => inbox.pins.with_value(|p| p.get(account_id).cloned()),
    };
    session.check(ticket)?;
    let in_use = match pinning::judge(&history, stored.as_ref()) {
        Verdict::Rewritten => return Err(inbox.mark_rewritten(account_id)),
        Verdict::FirstUse(head) | Verdict::Same(head) => {
            let pin = Pin {
                bundle: history.current_bytes().to_vec(),
                head: Some(head),
            };
            if stored.as_ref() != Some(&pin) {
                let _ = bundles::pin(&me, account_id, &pin).await;
                session.check(ticket)?;
            }
            inbox.pins.update_value(|p| {
                p.insert(account_id.to_owned(), pin);
            });
            if inbox
                .key_changes
                .with_untracked(|c| c.contains_key(account_id))
            {
                inbox.key_changes.update(|c| {
                    c.remove(account_id);
                });
            }
            history.current().clone()
        }
        Verdict::Changed(head) => {
            let pinned = stored.ok_or(SessionError::Crypto)?;
            let old = PublicBundle::from_bytes(&pinned.bundle).map_err(|_| SessionError::Crypto)?;
            inbox.key_changes.update(|changes| {
                changes.insert(
                    account_id.to_owned(),
                    KeyChange {
                        safety_number: safety_number(history.current()),
                        old_safety_number: safety_number(&old),
                        bundle: history.current_bytes().to_vec(),
                        head,
                    },
                );
            });
            inbox.pins.update_value(|p| {
                p.insert(account_id.to_owned(), pinned);
            });
            old
        }
    };
    inbox.histories.update_value(|h| {
        h.insert(account_id.to_owned(), history);
    });
    inbox.bundles.update_value(|b| {
        b.insert(account_id.to_owned(), in_use.clone());
    });
    Ok(in_use)
}

/// This account's own verified head, once per unlock, for the heads every
/// message carries. Best effort: without it, messages carry the others'.
async fn own_head(inbox: &Inbox, session: Session, mine: &PublicBundle) {
    let ticket = session.ticket();
    let me = mine.account_id().to_owned();
    if inbox.pins.with_value(|p| p.contains_key(&me)) {
        return;
    }
    let Ok(token) = token(session) else { return };
    let Ok(Some(response)) = api::account::key_history(&token, &me).await else {
        return;
    };
    if session.is_current(ticket)
        && let Ok(history) = pinning::verify(&me, &response)
        && history.current_bytes() == mine.to_bytes().as_slice()
    {
        inbox.pins.update_value(|p| {
            p.insert(
                me.clone(),
                Pin {
                    bundle: history.current_bytes().to_vec(),
                    head: Some(history.head()),
                },
            );
        });
        inbox.histories.update_value(|h| {
            h.insert(me, history);
        });
    }
}

/// Compares the heads a message carries with what this device verified;
/// a contradiction is a split view: the thread warns and sending holds.
fn compare_heads(inbox: &Inbox, seen: &[SeenKeyHead]) {
    for head in seen {
        let pinned = inbox
            .pins
            .with_value(|p| p.get(&head.account_id).and_then(|pin| pin.head.clone()));
        let split = inbox
            .histories
            .with_value(|h| pinning::contradicts(head, pinned.as_ref(), h.get(&head.account_id)));
        if split
            && !inbox
                .split_views
                .with_untracked(|s| s.contains(&head.account_id))
        {
            inbox.split_views.update(|s| {
                s.insert(head.account_id.clone());
            });
        }
    }
}

/// The heads this device pinned for `members`, for an outgoing payload.
fn pinned_heads(inbox: &Inbox, members: &[String]) -> Vec<SeenKeyHead> {
    inbox.pins.with_value(|pins| {
        members
            .iter()
            .filter_map(|m| {
                let head = pins.get(m)?.head.clone()?;
                Some(SeenKeyHead {
                    account_id: m.clone(),
                    seq: head.seq,
                    hash: head.hash,
                })
            })
            .collect()
    })
}

/// The patient compared the new safety number: pin the new bundle and its
/// head, and start a new epoch sealed to every member's current keys, so
/// the member with new keys can read what comes next.
pub(super) async fn accept_key_change(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    account_id: &str,
) -> Result<(), SessionError> {
    let ticket = session.ticket();
    let me = session.account_id.get_untracked().unwrap_or_default();
    let change = inbox
        .key_changes
        .with_untracked(|c| c.get(account_id).cloned())
        .ok_or(SessionError::Interrupted)?;
    let pin = Pin {
        bundle: change.bundle.clone(),
        head: Some(change.head.clone()),
    };
    bundles::pin(&me, account_id, &pin).await?;
    session.check(ticket)?;
    inbox.pins.update_value(|p| {
        p.insert(account_id.to_owned(), pin);
    });
    inbox.bundles.update_value(|b| {
        b.remove(account_id);
    });
    next_epoch(inbox, session, thread_id).await?;
    // Only now: sending is held until the new epoch is in place.
    inbox.key_changes.update(|c| {
        c.remove(account_id);
    });
    Ok(())
}

/// Starts `thread_id`'s next epoch: a fresh key sealed to every member
/// there is now, each with keys checked against this device's pins. After
/// a key change the patient confirmed, and after someone left (the
/// thread's `needs_rekey`: they hold the current key, so the relay takes
/// nothing more under it). The epoch to seal under now: of two members
/// starting it at once the relay takes one, and the other seals under the
/// winner's.
pub(super) async fn next_epoch(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
) -> Result<u32, SessionError> {
    let ticket = session.ticket();
    let token = token(session)?;
    let thread = api::threads::thread(&token, thread_id).await?;
    let (next, key, sealed) = seal_next_epoch(inbox, session, &thread, None).await?;
    let put = api::threads::put_epoch(&token, thread_id, next, sealed).await;
    session.check(ticket)?;
    if put.is_ok() {
        inbox.keys.update_value(|k| {
            k.insert((thread_id.to_owned(), next), key);
        });
    }
    let asked_at = js_sys::Date::now();
    let thread = api::threads::thread(&token, thread_id).await?;
    session.check(ticket)?;
    let now = (thread.current_epoch, thread.needs_rekey);
    inbox.upsert_thread(thread, asked_at);
    match (put, now) {
        (Ok(()), _) => Ok(next),
        // Another member started it first, for the members there are now:
        // theirs is the epoch to seal under (its key is sealed to us too).
        (Err(error), (Some(current), false))
            if error.code() == Some(ward_proto::ErrorCode::EpochConflict) =>
        {
            Ok(current)
        }
        (Err(error), _) => Err(error.into()),
    }
}

/// `thread`'s next epoch: its number, a fresh key, and that key sealed to
/// every member but `leaving`, each with keys checked against this
/// device's pins. Nothing is sent: the caller starts the epoch (on its own,
/// or with a member's removal).
pub(super) async fn seal_next_epoch(
    inbox: &Inbox,
    session: Session,
    thread: &Thread,
    leaving: Option<&str>,
) -> Result<(u32, ThreadKey, Vec<Vec<u8>>), SessionError> {
    let next = thread.current_epoch.map_or(0, |e| e.saturating_add(1));
    let mut members = Vec::new();
    for member in thread
        .members
        .iter()
        .filter(|m| Some(m.account_id.as_str()) != leaving)
    {
        members.push(bundle(inbox, session, &member.account_id, true).await?);
    }
    let (key, sealed) = session
        .with_account(|account| {
            thread_key::rotate(
                &thread.thread_id,
                next,
                account.keys(),
                &members,
                &mut os_rng(),
            )
        })
        .ok_or(SessionError::Interrupted)?
        .map_err(|_| SessionError::Crypto)?;
    Ok((
        next,
        key,
        sealed.iter().map(SealedThreadKey::to_bytes).collect(),
    ))
}

/// The key of `epoch` in `thread_id`, opened from the relay's sealed copy
/// (and signed by a member, checked).
pub(super) async fn key(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    epoch: u32,
) -> Result<(), SessionError> {
    let ticket = session.ticket();
    let cached = inbox
        .keys
        .with_value(|k| k.contains_key(&(thread_id.to_owned(), epoch)));
    if cached {
        return Ok(());
    }
    let sealed = api::threads::keys(&token(session)?, thread_id).await?;
    for entry in sealed.keys {
        let sealer = bundle(inbox, session, &entry.sealer_id, false).await?;
        session.check(ticket)?;
        let opened = session
            .with_account(|account| {
                SealedThreadKey::from_bytes(&entry.sealed.0)
                    .and_then(|s| s.open(account.keys(), &sealer, thread_id, entry.epoch))
            })
            .ok_or(SessionError::Interrupted)?;
        if let Ok(opened) = opened {
            inbox.keys.update_value(|k| {
                k.insert((thread_id.to_owned(), entry.epoch), opened);
            });
        }
    }
    let found = inbox
        .keys
        .with_value(|k| k.contains_key(&(thread_id.to_owned(), epoch)));
    if found {
        Ok(())
    } else {
        Err(SessionError::Crypto)
    }
}

/// Epoch 0 of a new thread: a fresh key sealed to every member.
pub(super) async fn start_epoch(
    inbox: &Inbox,
    session: Session,
    thread: &Thread,
) -> Result<(), SessionError> {
    let ticket = session.ticket();
    let mut members = Vec::new();
    for member in &thread.members {
        members.push(bundle(inbox, session, &member.account_id, false).await?);
    }
    let (key, sealed) = session
        .with_account(|account| {
            let key = ThreadKey::generate(&mut os_rng());
            thread_key::seal_to_members(
                &key,
                &thread.thread_id,
                0,
                account.keys(),
                &members,
                &mut os_rng(),
            )
            .map(|sealed| (key, sealed))
        })
        .ok_or(SessionError::Interrupted)?
        .map_err(|_| SessionError::Crypto)?;
    api::threads::put_epoch(
        &token(session)?,
        &thread.thread_id,
        0,
        sealed.iter().map(SealedThreadKey::to_bytes).collect(),
    )
    .await?;
    session.check(ticket)?;
    inbox.keys.update_value(|k| {
        k.insert((thread.thread_id.clone(), 0), key);
    });
    Ok(())
}

/// Opens one stored message. A message that does not open (altered, or not
/// from who it claims) is shown as such rather than hiding the thread.
pub(super) async fn open(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    stored: &StoredMessage,
) -> Result<Shown, SessionError> {
    let ticket = session.ticket();
    let me = session.account_id.get_untracked().unwrap_or_default();
    let unreadable = |text: &str| Shown {
        seq: Some(stored.seq),
        message_id: stored.message_id.clone(),
        sender_id: stored.sender_id.clone(),
        sent_at_ms: stored.received_at,
        text: text.to_owned(),
        quick_replies: Vec::new(),
        answers_offer: None,
        delivery: None,
        attachments: Vec::new(),
        upload: None,
    };
    let Ok(envelope) = Envelope::from_bytes(&stored.envelope.0) else {
        return Ok(unreadable(t(Text::ErrMessageDamaged)));
    };
    let epoch = envelope.header().epoch;
    if key(inbox, session, thread_id, epoch).await.is_err() {
        return Ok(unreadable(t(Text::ErrMessageNoKey)));
    }
    let sender = match bundle(inbox, session, &stored.sender_id, false).await {
        Ok(sender) => sender,
        Err(SessionError::KeyHistoryRewritten) => {
            return Ok(unreadable(t(Text::ErrMessageKeyHistory)));
        }
        Err(error) => return Err(error),
    };
    let Some(payload) = open_loaded(inbox, thread_id, &envelope, &sender) else {
        return Ok(unreadable(t(Text::ErrMessageAltered)));
    };
    session.check(ticket)?;
    // A thread's subject replayed as a message is not one (crypto.md §6a).
    if payload.subject.is_some() {
        return Ok(unreadable(t(Text::ErrMessageNotAMessage)));
    }
    compare_heads(inbox, &payload.key_heads);
    Ok(Shown {
        seq: Some(stored.seq),
        message_id: envelope.header().message_id.clone(),
        sender_id: stored.sender_id.clone(),
        sent_at_ms: envelope.header().sent_at_ms,
        text: payload.text.clone(),
        quick_replies: payload
            .quick_reply_options
            .iter()
            .map(|o| (o.id.clone(), o.label.clone()))
            .collect(),
        answers_offer: payload
            .quick_reply_chosen
            .as_ref()
            .map(|c| c.offer_message_id.clone()),
        delivery: (stored.sender_id == me).then_some(Delivery::Sent),
        attachments: payload
            .attachments
            .iter()
            .map(Attachment::from_ref)
            .collect(),
        upload: None,
    })
}

/// Seals `shown` under the thread's current epoch: the envelope's bytes,
/// ready to queue and post.
pub(super) async fn seal(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    shown: &Shown,
    quick_reply: Option<(String, String)>,
    category: Option<Category>,
) -> Result<Vec<u8>, SessionError> {
    let ticket = session.ticket();
    let token = token(session)?;
    let epoch = match inbox.thread(thread_id).and_then(|t| t.current_epoch) {
        Some(epoch) => epoch,
        None => {
            let asked_at = js_sys::Date::now();
            let thread = api::threads::thread(&token, thread_id).await?;
            session.check(ticket)?;
            let epoch = thread.current_epoch.ok_or(SessionError::Crypto)?;
            inbox.upsert_thread(thread, asked_at);
            epoch
        }
    };
    // Someone left since this epoch began: the patient's device starts the
    // next one (a caregiver's cannot; the patient's or the clinic's will).
    let epoch = match inbox.thread(thread_id) {
        Some(thread) if thread.needs_rekey => {
            let me = session.account_id.get_untracked().unwrap_or_default();
            if !super::is_member_as(&thread, &me, ward_proto::threads::Role::Patient) {
                return Err(SessionError::ThreadKeysChanged);
            }
            next_epoch(inbox, session, thread_id).await?
        }
        _ => epoch,
    };
    // Every member's keys, asked again: a changed key holds the message.
    let members: Vec<String> = inbox
        .thread(thread_id)
        .map(|t| t.members.into_iter().map(|m| m.account_id).collect())
        .unwrap_or_default();
    for member in &members {
        match bundle(inbox, session, member, true).await {
            Ok(_) => {}
            // Offline: seal with what this device already checked; the
            // outbox sends it later.
            Err(SessionError::Api(crate::api::ApiError::Unreachable)) => {
                bundle(inbox, session, member, false).await?;
            }
            Err(error) => return Err(error),
        }
    }
    if members
        .iter()
        .any(|m| inbox.split_views.with_untracked(|s| s.contains(m)))
    {
        return Err(SessionError::SplitView);
    }
    if members
        .iter()
        .any(|m| inbox.key_changes.with_untracked(|c| c.contains_key(m)))
    {
        return Err(SessionError::KeyChanged);
    }
    key(inbox, session, thread_id, epoch).await?;
    let mut payload = Payload::text(shown.text.clone());
    payload.category = category;
    payload.key_heads = pinned_heads(inbox, &members);
    payload.attachments = shown.attachments.iter().map(Attachment::to_ref).collect();
    payload.quick_reply_chosen = quick_reply.map(|(offer, option)| QuickReplyChosen {
        offer_message_id: offer,
        option_id: option,
    });
    let header = Header {
        thread_id: thread_id.to_owned(),
        epoch,
        message_id: shown.message_id.clone(),
        sender_id: shown.sender_id.clone(),
        sent_at_ms: shown.sent_at_ms,
    };
    seal_loaded(inbox, session, header, &payload)
}

/// Seals `payload` as this account under the key of `header`'s thread and
/// epoch, which [`key`] has loaded.
fn seal_loaded(
    inbox: &Inbox,
    session: Session,
    header: Header,
    payload: &Payload,
) -> Result<Vec<u8>, SessionError> {
    let slot = (header.thread_id.clone(), header.epoch);
    inbox
        .keys
        .with_value(|keys| {
            let key = keys.get(&slot)?;
            session.with_account(|account| {
                envelope::seal(account.keys(), key, header, payload, &mut os_rng())
            })
        })
        .ok_or(SessionError::Interrupted)?
        .map(|sealed| sealed.to_bytes())
        .map_err(|_| SessionError::Crypto)
}

/// Opens `envelope` of `thread_id` as sent by `sender`, with the key of
/// its epoch that [`key`] has loaded; `None` without that key or when it
/// does not open (altered, or not from `sender`).
fn open_loaded(
    inbox: &Inbox,
    thread_id: &str,
    envelope: &Envelope,
    sender: &PublicBundle,
) -> Option<Payload> {
    inbox.keys.with_value(|keys| {
        keys.get(&(thread_id.to_owned(), envelope.header().epoch))
            .and_then(|key| envelope.open(key, thread_id, sender).ok())
    })
}

/// Seals `subject` for `thread_id` under the key of `epoch` (0: the
/// thread is being started), as this account (docs/crypto.md, "The
/// thread's subject").
pub(super) async fn seal_subject(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    epoch: u32,
    subject: &str,
) -> Result<Vec<u8>, SessionError> {
    key(inbox, session, thread_id, epoch).await?;
    let mut payload = Payload::default();
    payload.subject = Some(subject.to_owned());
    let header = Header {
        thread_id: thread_id.to_owned(),
        epoch,
        message_id: "subject".into(),
        sender_id: session.account_id.get_untracked().unwrap_or_default(),
        sent_at_ms: js_sys::Date::now() as u64,
    };
    seal_loaded(inbox, session, header, &payload)
}

/// The subject `thread`'s patient sealed, if it opens: sealed by the
/// thread's patient (nobody else may name the thread) under one of its
/// keys, and a subject rather than a message.
pub(super) async fn open_subject(
    inbox: &Inbox,
    session: Session,
    thread: &Thread,
    sealed: &[u8],
) -> Option<String> {
    let envelope = Envelope::from_bytes(sealed).ok()?;
    let header = envelope.header();
    // Not the relay's word for who the patient is: a patient's device
    // accepts only its own subject, a caregiver's only one from a patient
    // they help (and a signature checks it below).
    let me = session.account_id.get_untracked().unwrap_or_default();
    let sender = header.sender_id.clone();
    let from_patient = inbox.people.with_untracked(|people| match people {
        Some(p) if p.role == ward_proto::threads::Role::Caregiver => {
            p.patients.iter().any(|h| h.account_id == sender)
        }
        _ => sender == me,
    });
    let is_member_patient = thread
        .members
        .iter()
        .any(|m| m.account_id == sender && m.role == ward_proto::threads::Role::Patient);
    if !from_patient || !is_member_patient {
        return None;
    }
    let patient = sender;
    let epoch = header.epoch;
    key(inbox, session, &thread.thread_id, epoch).await.ok()?;
    let sender = bundle(inbox, session, &patient, false).await.ok()?;
    open_loaded(inbox, &thread.thread_id, &envelope, &sender)?
        .subject
        .clone()
}

/// Seals a draft of `thread_id` as this account under the thread's
/// current key, to keep across an update's reload ([`crate::store::drafts`]);
/// [`open_queued`] opens it again.
pub(super) async fn seal_draft(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    text: &str,
) -> Result<Vec<u8>, SessionError> {
    let epoch = inbox
        .thread(thread_id)
        .and_then(|t| t.current_epoch)
        .ok_or(SessionError::Crypto)?;
    key(inbox, session, thread_id, epoch).await?;
    let header = Header {
        thread_id: thread_id.to_owned(),
        epoch,
        message_id: "draft".into(),
        sender_id: session.account_id.get_untracked().unwrap_or_default(),
        sent_at_ms: js_sys::Date::now() as u64,
    };
    seal_loaded(inbox, session, header, &Payload::text(text.to_owned()))
}

/// Opens one of the patient's own queued envelopes, to show it again
/// after a reload.
pub(super) async fn open_queued(
    inbox: &Inbox,
    session: Session,
    thread_id: &str,
    envelope_bytes: &[u8],
) -> Option<Shown> {
    let envelope = Envelope::from_bytes(envelope_bytes).ok()?;
    let epoch = envelope.header().epoch;
    key(inbox, session, thread_id, epoch).await.ok()?;
    let mine = session.with_account(|account| account.keys().bundle().clone())?;
    let payload = open_loaded(inbox, thread_id, &envelope, &mine)?;
    Some(Shown {
        seq: None,
        message_id: envelope.header().message_id.clone(),
        sender_id: envelope.header().sender_id.clone(),
        sent_at_ms: envelope.header().sent_at_ms,
        text: payload.text.clone(),
        quick_replies: Vec::new(),
        answers_offer: payload
            .quick_reply_chosen
            .as_ref()
            .map(|c| c.offer_message_id.clone()),
        delivery: Some(Delivery::Queued),
        attachments: payload
            .attachments
            .iter()
            .map(Attachment::from_ref)
            .collect(),
        upload: None,
    })
}
