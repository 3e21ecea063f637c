//! Sending a message with a file. The file is fingerprinted (SHA-256),
//! given an upload on the relay, and the message sealed with its key and
//! queued in the outbox, marked as waiting for its upload; then the file is
//! encrypted and uploaded part by part. Only once the relay has every part
//! is the upload finalized and the message sent. A dropped connection
//! continues from the first missing part; after a closed tab the queued
//! message asks for the file again, checks it is the same one, and
//! continues the same way. The bytes encrypted are hashed as they are
//! read: a file that changed after it was fingerprinted is never
//! finalized (TOCTOU), and the message says to attach it again.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::threads::Category;
use ward_seal::random::os_rng;
use ward_seal::stream::{Encryptor, FileKey, StreamHeader};
use web_sys::Blob;

use super::{Delivery, Inbox, Shown, UploadState, UploadStep, crypto};
use crate::api::{self, ApiError};
use crate::attachments::Attachment;
use crate::attachments::upload::{self, Picked};
use crate::i18n::{Text, t};
use crate::session::{Session, SessionError, Ticket};
use crate::store::outbox::{self, PendingUpload};

/// A file this tab is uploading.
#[derive(Debug, Clone)]
pub(super) struct LiveUpload {
    picked: Picked,
    cancelled: bool,
    running: bool,
    /// Attempts that found the relay out of reach, for the retry delay.
    tries: u32,
}

impl Inbox {
    /// Sends `text` with a file.
    pub async fn send_file(
        &self,
        session: Session,
        thread_id: &str,
        text: String,
        picked: Picked,
        category: Option<Category>,
    ) {
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let shown = Shown {
            upload: Some(UploadState {
                name: picked.name.clone(),
                done: 0,
                total: picked.size,
                step: UploadStep::Preparing,
                problem: None,
            }),
            ..Shown::outgoing(me, text)
        };
        let message_id = shown.message_id.clone();
        self.messages.update(|all| {
            all.entry(thread_id.to_owned())
                .or_default()
                .push(shown.clone());
        });
        self.uploads.update_value(|u| {
            u.insert(
                message_id.clone(),
                LiveUpload {
                    picked: picked.clone(),
                    cancelled: false,
                    running: true,
                    tries: 0,
                },
            );
        });
        let ticket = session.ticket();
        let result = self
            .start_upload(session, thread_id, shown, picked, category)
            .await;
        self.finish(session, ticket, thread_id, &message_id, result)
            .await;
    }

    /// Hash, create the upload, seal and queue the message, upload.
    async fn start_upload(
        &self,
        session: Session,
        thread_id: &str,
        mut shown: Shown,
        picked: Picked,
        category: Option<Category>,
    ) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let message_id = shown.message_id.clone();
        let sha256 = upload::hash(&picked.blob, picked.size, |done| {
            self.set_upload(thread_id, &message_id, done, UploadStep::Preparing);
        })
        .await?;
        self.check_cancelled(&message_id)?;
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let created = api::uploads::create(
            &token,
            upload::encrypted_size(picked.size)?,
            upload::part_count(picked.size),
        )
        .await?;
        let key = FileKey::generate(&mut os_rng());
        let encryptor = Encryptor::new(&key, picked.size, &mut os_rng());
        shown.attachments = vec![Attachment::new(
            created.upload_id.clone(),
            picked.name.clone(),
            picked.media_type.clone(),
            picked.size,
            sha256,
            picked.thumbnail.clone(),
            &key,
        )];
        let envelope = crypto::seal(self, session, thread_id, &shown, None, category).await?;
        session.check(ticket)?;
        self.update_message(thread_id, &message_id, |m| {
            m.attachments = shown.attachments.clone();
        });
        let queued = outbox::Queued {
            account_id: shown.sender_id.clone(),
            thread_id: thread_id.to_owned(),
            message_id: message_id.clone(),
            queued_at: js_sys::Date::now(),
            envelope,
            attachments: vec![created.upload_id.clone()],
            upload: Some(PendingUpload {
                upload_id: created.upload_id.clone(),
                stream_header: encryptor.header().to_bytes().to_vec(),
            }),
        };
        // Without storage (private browsing) the upload still runs; only a
        // closed tab cannot resume it.
        let _ = outbox::put(&queued).await;
        let source = upload::Source {
            encryptor: &encryptor,
            blob: &picked.blob,
            size: picked.size,
            sha256,
        };
        self.upload_rest(session, &queued, source, &[]).await
    }

    /// Uploads the parts the relay lacks, finalizes, and sends the message.
    async fn upload_rest(
        &self,
        session: Session,
        queued: &outbox::Queued,
        source: upload::Source<'_>,
        have: &[u32],
    ) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let upload_id = queued
            .upload
            .as_ref()
            .map(|u| u.upload_id.clone())
            .unwrap_or_default();
        let (thread_id, message_id) = (queued.thread_id.as_str(), queued.message_id.as_str());
        upload::send_parts(
            &token,
            &upload_id,
            source,
            have,
            |done| self.set_upload(thread_id, message_id, done, UploadStep::Uploading),
            || self.is_cancelled(message_id),
        )
        .await?;
        // The last moment Cancel can still stop it: once finalized, it goes.
        self.check_cancelled(message_id)?;
        api::uploads::finalize(&token, &upload_id).await?;
        session.check(ticket)?;
        let ready = outbox::Queued {
            upload: None,
            ..queued.clone()
        };
        self.uploads.update_value(|u| {
            u.remove(message_id);
        });
        self.clear_upload(thread_id, message_id);
        if outbox::put(&ready).await.is_err() {
            self.deliver(session, ticket, &ready).await;
            return Ok(());
        }
        self.flush(session).await;
        Ok(())
    }

    /// What happens after an upload attempt ends.
    async fn finish(
        &self,
        session: Session,
        ticket: Ticket,
        thread_id: &str,
        message_id: &str,
        result: Result<(), SessionError>,
    ) {
        self.uploads.update_value(|u| {
            if let Some(live) = u.get_mut(message_id) {
                live.running = false;
            }
        });
        // Locked or signed out while it ran: the session it showed in is
        // over; a queued upload resumes after the next unlock.
        if !session.is_current(ticket) && !matches!(result, Err(SessionError::UploadCancelled)) {
            return;
        }
        // Before the message was sealed and queued, there is nothing to
        // resume: it fails, and Retry sends it again with the file this tab
        // still holds.
        let queued = match &result {
            Ok(()) => true,
            Err(_) => self.is_queued(session, message_id).await,
        };
        match result {
            Ok(()) => {}
            Err(SessionError::UploadCancelled) => self.drop_message(thread_id, message_id).await,
            Err(error) if !queued => {
                self.clear_upload(thread_id, message_id);
                let reason = session.explain(&error);
                self.set_delivery(thread_id, message_id, Delivery::Failed(reason), None);
            }
            // Locked or signed out mid-upload: it waits, queued, and the
            // reconnect after the next unlock resumes it from this tab's
            // file. (`explain` locks the app when the relay says the
            // session ended.)
            Err(error)
                if matches!(&error, SessionError::Interrupted)
                    || matches!(&error, SessionError::Api(api) if api.is_signed_out()) =>
            {
                let _ = session.explain(&error);
                self.set_step(thread_id, message_id, UploadStep::Waiting);
            }
            Err(SessionError::Api(ApiError::Unreachable)) => {
                self.set_step(thread_id, message_id, UploadStep::Waiting);
                self.set_delivery(thread_id, message_id, Delivery::Queued, None);
                // Coming back online resumes it at once; a connection that
                // drops requests without going offline is retried: 2, 4,
                // 8 … 30 s.
                let tries = self.uploads.try_update_value(|u| {
                    u.get_mut(message_id).map(|live| {
                        live.tries = live.tries.saturating_add(1);
                        live.tries
                    })
                });
                if let Some(Some(tries)) = tries {
                    let inbox = *self;
                    set_timeout(
                        move || spawn_local(async move { inbox.resume_uploads(session).await }),
                        std::time::Duration::from_millis((1_000u64 << tries.min(5)).min(30_000)),
                    );
                }
            }
            // Refused for good (too large, over quota, the session ended):
            // off the queue; Retry starts over with the file.
            Err(error) => {
                let reason = session.explain(&error);
                let _ = outbox::remove(message_id).await;
                self.clear_upload(thread_id, message_id);
                self.set_delivery(thread_id, message_id, Delivery::Failed(reason), None);
            }
        }
    }

    /// Continues every upload this device has queued: from memory when this
    /// tab still has the file, else the message asks for the file again.
    pub async fn resume_uploads(&self, session: Session) {
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let Ok(queued) = outbox::pending(&me).await else {
            return;
        };
        for item in queued.into_iter().filter(|q| q.upload.is_some()) {
            let live = self
                .uploads
                .with_value(|u| u.get(&item.message_id).cloned());
            match live {
                Some(live) if live.running || live.cancelled => {}
                Some(live) => {
                    self.mark_running(&item.message_id);
                    let ticket = session.ticket();
                    let result = self
                        .resume(session, &item, &live.picked.blob, live.picked.size)
                        .await;
                    self.finish(session, ticket, &item.thread_id, &item.message_id, result)
                        .await;
                }
                None => self.set_step(&item.thread_id, &item.message_id, UploadStep::NeedsFile),
            }
        }
    }

    /// The patient chose the file again for an upload a closed tab left.
    pub async fn resume_with_file(
        &self,
        session: Session,
        thread_id: &str,
        message_id: &str,
        picked: Picked,
    ) -> Result<(), SessionError> {
        let Some(me) = session.account_id.get_untracked() else {
            return Err(SessionError::Interrupted);
        };
        let item = outbox::pending(&me)
            .await?
            .into_iter()
            .find(|q| q.message_id == message_id && q.upload.is_some())
            .ok_or(SessionError::Interrupted)?;
        self.uploads.update_value(|u| {
            u.insert(
                message_id.to_owned(),
                LiveUpload {
                    picked: picked.clone(),
                    cancelled: false,
                    running: true,
                    tries: 0,
                },
            );
        });
        let ticket = session.ticket();
        let result = self.resume(session, &item, &picked.blob, picked.size).await;
        if !session.is_current(ticket) {
            return Err(SessionError::Interrupted);
        }
        match result {
            // Not the same file (or unreadable): keep waiting for the
            // right one, and say why.
            Err(error @ (SessionError::FileChanged | SessionError::FileUnreadable)) => {
                self.uploads.update_value(|u| {
                    u.remove(message_id);
                });
                self.set_step(thread_id, message_id, UploadStep::NeedsFile);
                let problem = session.explain(&error);
                self.update_message(thread_id, message_id, |m| {
                    if let Some(upload) = &mut m.upload {
                        upload.problem = Some(problem);
                    }
                });
                Err(error)
            }
            // Anything else shows on the message itself.
            other => {
                self.finish(session, ticket, thread_id, message_id, other)
                    .await;
                Ok(())
            }
        }
    }

    /// Checks `blob` is the queued message's file (size and SHA-256, to say
    /// at once when another file was chosen), asks the relay what it has,
    /// and uploads the rest with the same key and stream header (hashing
    /// every part again as it goes: the file may still change).
    async fn resume(
        &self,
        session: Session,
        item: &outbox::Queued,
        blob: &Blob,
        size: u64,
    ) -> Result<(), SessionError> {
        let pending = item.upload.as_ref().ok_or(SessionError::Interrupted)?;
        let sealed = crypto::open_queued(self, session, &item.thread_id, &item.envelope)
            .await
            .ok_or(SessionError::Crypto)?;
        let attachment = sealed
            .attachments
            .iter()
            .find(|a| a.blob_id == pending.upload_id)
            .ok_or(SessionError::Crypto)?;
        if attachment.size != size {
            return Err(SessionError::FileChanged);
        }
        self.set_step(&item.thread_id, &item.message_id, UploadStep::Preparing);
        let sha256 = upload::hash(blob, size, |done| {
            self.set_upload(
                &item.thread_id,
                &item.message_id,
                done,
                UploadStep::Preparing,
            );
        })
        .await?;
        if sha256 != attachment.sha256 {
            return Err(SessionError::FileChanged);
        }
        let header =
            StreamHeader::from_bytes(&pending.stream_header).map_err(|_| SessionError::Crypto)?;
        let encryptor = Encryptor::resume(&attachment.file_key(), header, size);
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let status = api::uploads::status(&token, &pending.upload_id).await?;
        let source = upload::Source {
            encryptor: &encryptor,
            blob,
            size,
            sha256: attachment.sha256,
        };
        self.upload_rest(session, item, source, &status.received)
            .await
    }

    /// Whether the message waits in the outbox for its upload.
    async fn is_queued(&self, session: Session, message_id: &str) -> bool {
        let Some(me) = session.account_id.get_untracked() else {
            return false;
        };
        outbox::pending(&me).await.is_ok_and(|queued| {
            queued
                .iter()
                .any(|q| q.message_id == message_id && q.upload.is_some())
        })
    }

    /// Retry on a message with a file that never got queued (or was
    /// refused): sent again as new, with the file this tab still holds.
    /// `false` when this tab has no file for it.
    pub(super) async fn retry_file(
        &self,
        session: Session,
        thread_id: &str,
        message_id: &str,
    ) -> bool {
        let Some(live) = self.uploads.with_value(|u| u.get(message_id).cloned()) else {
            return false;
        };
        let text = self.messages.with_untracked(|all| {
            all.get(thread_id)
                .and_then(|list| list.iter().find(|m| m.message_id == message_id))
                .map(|m| m.text.clone())
        });
        self.forget_message(thread_id, message_id);
        self.send_file(
            session,
            thread_id,
            text.unwrap_or_default(),
            live.picked,
            None,
        )
        .await;
        true
    }

    /// The patient pressed Cancel.
    pub async fn cancel_upload(&self, thread_id: &str, message_id: &str) {
        let running = self
            .uploads
            .with_value(|u| u.get(message_id).is_some_and(|l| l.running));
        self.uploads.update_value(|u| {
            if let Some(live) = u.get_mut(message_id) {
                live.cancelled = true;
            }
        });
        // A running upload stops before its next part and drops the
        // message itself; a waiting one goes now.
        if !running {
            self.drop_message(thread_id, message_id).await;
        }
    }

    async fn drop_message(&self, thread_id: &str, message_id: &str) {
        let _ = outbox::remove(message_id).await;
        self.forget_message(thread_id, message_id);
        self.announcement.set(t(Text::ErrUploadCancelled).into());
    }

    /// Takes a message off the thread, and its file out of memory.
    fn forget_message(&self, thread_id: &str, message_id: &str) {
        self.uploads.update_value(|u| {
            u.remove(message_id);
        });
        self.messages.update(|all| {
            if let Some(list) = all.get_mut(thread_id) {
                list.retain(|m| m.message_id != message_id);
            }
        });
    }

    fn is_cancelled(&self, message_id: &str) -> bool {
        self.uploads
            .with_value(|u| u.get(message_id).is_none_or(|l| l.cancelled))
    }

    fn check_cancelled(&self, message_id: &str) -> Result<(), SessionError> {
        if self.is_cancelled(message_id) {
            Err(SessionError::UploadCancelled)
        } else {
            Ok(())
        }
    }

    fn mark_running(&self, message_id: &str) {
        self.uploads.update_value(|u| {
            if let Some(live) = u.get_mut(message_id) {
                live.running = true;
            }
        });
    }

    fn set_upload(&self, thread_id: &str, message_id: &str, done: u64, step: UploadStep) {
        self.upload_done.update(|d| {
            d.insert(message_id.to_owned(), done);
        });
        let moved_on = self.messages.with_untracked(|all| {
            all.get(thread_id)
                .and_then(|list| list.iter().find(|m| m.message_id == message_id))
                .is_some_and(|m| {
                    m.delivery != Some(Delivery::Sending)
                        || m.upload
                            .as_ref()
                            .is_some_and(|u| u.step != step || u.problem.is_some())
                })
        });
        if !moved_on {
            return;
        }
        self.update_message(thread_id, message_id, |m| {
            if let Some(upload) = &mut m.upload {
                upload.done = done;
                upload.step = step;
                upload.problem = None;
            }
            if m.delivery != Some(Delivery::Sending) {
                m.delivery = Some(Delivery::Sending);
            }
        });
    }

    fn set_step(&self, thread_id: &str, message_id: &str, step: UploadStep) {
        self.update_message(thread_id, message_id, |m| match &mut m.upload {
            Some(upload) => upload.step = step,
            None => {
                m.upload = Some(UploadState {
                    name: m
                        .attachments
                        .first()
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    done: 0,
                    total: m.attachments.first().map_or(0, |a| a.size),
                    step,
                    problem: None,
                });
            }
        });
    }

    /// A queued message whose upload this tab is not running (the tab that
    /// started it was closed) waits for its file.
    pub(super) fn show_stalled_upload(&self, shown: &mut Shown) {
        if self
            .uploads
            .with_value(|u| u.contains_key(&shown.message_id))
        {
            return;
        }
        let first = shown.attachments.first();
        shown.upload = Some(UploadState {
            name: first.map(|a| a.name.clone()).unwrap_or_default(),
            done: 0,
            total: first.map_or(0, |a| a.size),
            step: UploadStep::NeedsFile,
            problem: None,
        });
    }

    fn clear_upload(&self, thread_id: &str, message_id: &str) {
        self.upload_done.update(|d| {
            d.remove(message_id);
        });
        self.update_message(thread_id, message_id, |m| m.upload = None);
    }
}
