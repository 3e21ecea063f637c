//! A patient shares a thread with a caregiver, stops sharing it, or keeps
//! it to themselves ("Only me"). Sharing seals every epoch's key to the
//! caregiver's keys (checked against this device's pins, pinned on first
//! use), so they read the whole conversation; stopping starts the next
//! epoch sealed to those who remain, in the same step, so nothing written
//! after is readable with what the caregiver holds.
//!
//! A caregiver the patient gave all their threads gets each one this
//! device sees them missing from (a thread started since, by the patient or
//! the clinic), unasked: [`Inbox::share_whole_scopes`] runs whenever the
//! thread list or the caregivers are read again.

use std::collections::HashSet;

use leptos::prelude::*;
use ward_proto::ErrorCode;
use ward_proto::caregivers::CaregiverStatus;
use ward_proto::threads::{Category, Role};
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};

use super::{Inbox, crypto, is_member_as};
use crate::api::{self, ApiError};
use crate::session::{Session, SessionError};

impl Inbox {
    /// Shares `thread_id` with caregiver `caregiver_id`, its history
    /// included (asks for a passkey if the sign-in is not recent).
    pub async fn share_with(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
    ) -> Result<(), SessionError> {
        let sealed = self.seal_history(session, thread_id, caregiver_id).await?;
        session
            .with_step_up(|token| {
                let sealed = sealed.clone();
                async move { api::threads::add_member(&token, thread_id, caregiver_id, sealed).await }
            })
            .await?;
        self.reload_thread(session, thread_id).await
    }

    /// The (thread, caregiver) pairs the patient's scopes call for and this
    /// device has not shared yet: every thread of the patient's, but "Only
    /// me" and confidential ones, for each active caregiver who sees all
    /// of them and is not in it.
    fn missing_from_scopes(&self, session: Session) -> Vec<(String, String)> {
        let me = session.account_id.get_untracked().unwrap_or_default();
        let whole: Vec<String> = self.people.with_untracked(|people| {
            people
                .iter()
                .flat_map(|p| &p.caregivers)
                .filter(|c| c.status == CaregiverStatus::Active && c.all_threads == Some(true))
                .filter_map(|c| c.account_id.clone())
                .collect()
        });
        if whole.is_empty() {
            return Vec::new();
        }
        let tried = self.sharing_scope.get_value();
        self.threads.with_untracked(|threads| {
            threads
                .iter()
                .filter(|t| {
                    is_member_as(t, &me, Role::Patient)
                        && !t.only_me
                        && t.category != Category::Confidential
                        && t.current_epoch.is_some()
                })
                .flat_map(|t| {
                    whole
                        .iter()
                        .filter(|c| !t.members.iter().any(|m| &m.account_id == *c))
                        .map(|c| (t.thread_id.clone(), c.clone()))
                })
                .filter(|pair| !tried.contains(pair))
                .collect()
        })
    }

    /// Shares what the patient's scopes call for (see
    /// [`Self::missing_from_scopes`]), one thread at a time, in the
    /// background. A pair the relay refuses for good (a category the clinic
    /// keeps confidential, a grant that just ended) or that this device
    /// cannot seal (the caregiver's keys do not match its pins) is not
    /// tried again until the next unlock; one that met a busy or
    /// unreachable relay, or an epoch that moved meanwhile, is tried on the
    /// next reload. Once shared, the member list is the record.
    pub(crate) fn share_whole_scopes(&self, session: Session) {
        let missing = self.missing_from_scopes(session);
        if missing.is_empty() {
            return;
        }
        self.sharing_scope
            .update_value(|tried| tried.extend(missing.iter().cloned()));
        let inbox = *self;
        leptos::task::spawn_local(async move {
            let mut again = HashSet::new();
            let mut pairs = missing.into_iter();
            for (thread_id, caregiver_id) in pairs.by_ref() {
                let result = inbox
                    .share_unasked(session, &thread_id, &caregiver_id)
                    .await;
                if matches!(result, Err(SessionError::Interrupted)) {
                    again.insert((thread_id, caregiver_id));
                    break;
                }
                let settled = match &result {
                    Ok(()) | Err(SessionError::Interrupted) => false,
                    Err(SessionError::Api(ApiError::Refused { status, code, .. })) => {
                        *status < 500
                            && !matches!(
                                code,
                                ErrorCode::InvalidSealedKey
                                    | ErrorCode::EpochConflict
                                    | ErrorCode::StaleEpoch
                            )
                    }
                    // Keys that do not match this device's pins, or a
                    // history the relay rewrote: not until the patient has
                    // seen the notice (and unlocked again).
                    Err(
                        SessionError::KeyHistoryRewritten
                        | SessionError::SplitView
                        | SessionError::Crypto
                        | SessionError::OnlyMeThread,
                    ) => true,
                    // Keys not published yet, a change to confirm, storage:
                    // may pass on a later reload.
                    Err(_) => false,
                };
                if !settled {
                    again.insert((thread_id, caregiver_id));
                }
            }
            // Those not reached (a lock came first) are tried after it.
            again.extend(pairs);
            inbox
                .sharing_scope
                .update_value(|tried| tried.retain(|pair| !again.contains(pair)));
        });
    }

    /// Shares `thread_id` with a caregiver who sees all the patient's
    /// threads: no passkey asked (the patient chose this with a recent
    /// sign-in; the relay asks for none).
    async fn share_unasked(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
    ) -> Result<(), SessionError> {
        let sealed = self.seal_history(session, thread_id, caregiver_id).await?;
        let token = session.token().ok_or(SessionError::Interrupted)?;
        api::threads::add_member(&token, thread_id, caregiver_id, sealed).await?;
        self.reload_thread(session, thread_id).await
    }

    /// Every epoch key of `thread_id`, sealed to caregiver `caregiver_id`'s
    /// keys (checked against this device's pins).
    async fn seal_history(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
    ) -> Result<Vec<Vec<u8>>, SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let thread = api::threads::thread(&token, thread_id).await?;
        session.check(ticket)?;
        // Never sealed to a caregiver, whatever the screen offered.
        if thread.only_me {
            return Err(SessionError::OnlyMeThread);
        }
        let current = thread.current_epoch.ok_or(SessionError::Crypto)?;
        for epoch in 0..=current {
            crypto::key(self, session, thread_id, epoch).await?;
        }
        let caregiver = crypto::bundle(self, session, caregiver_id, true).await?;
        session.check(ticket)?;
        let sealed = self
            .keys
            .with_value(|keys| {
                let epochs: Vec<(u32, &ThreadKey)> = (0..=current)
                    .filter_map(|epoch| {
                        keys.get(&(thread_id.to_owned(), epoch)).map(|k| (epoch, k))
                    })
                    .collect();
                if epochs.len() != usize::try_from(current).map_or(0, |c| c + 1) {
                    return None;
                }
                session.with_account(|account| {
                    thread_key::share_history(
                        &epochs,
                        thread_id,
                        account.keys(),
                        &caregiver,
                        &mut os_rng(),
                    )
                })
            })
            .ok_or(SessionError::Crypto)?
            .map_err(|_| SessionError::Crypto)?;
        Ok(sealed.iter().map(SealedThreadKey::to_bytes).collect())
    }

    /// Stops sharing `thread_id` with `caregiver_id`: they leave it, and
    /// its next epoch, sealed to those who remain, starts in the same step.
    pub async fn stop_sharing(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
    ) -> Result<(), SessionError> {
        self.remove_caregiver(session, thread_id, caregiver_id, false)
            .await?;
        self.reload_thread(session, thread_id).await
    }

    /// Takes `caregiver_id` out of `thread_id` and starts its next epoch
    /// without them; with `only_me`, keeps the thread to the patient in the
    /// same step.
    async fn remove_caregiver(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
        only_me: bool,
    ) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let thread = api::threads::thread(&token, thread_id).await?;
        session.check(ticket)?;
        let (next, key, sealed) =
            crypto::seal_next_epoch(self, session, &thread, Some(caregiver_id)).await?;
        api::threads::remove_member(&token, thread_id, caregiver_id, next, sealed, only_me).await?;
        session.check(ticket)?;
        self.keys.update_value(|k| {
            k.insert((thread_id.to_owned(), next), key);
        });
        Ok(())
    }

    /// Marks `thread_id` as the patient's alone (never shared), or not.
    /// Caregivers who can read it leave it first, each in a step that
    /// starts an epoch without them and keeps the thread "Only me" (after
    /// which the relay lets no one in, so no device of the patient's shares
    /// it again meanwhile). Turning it off asks for a recent sign-in: a
    /// caregiver who sees all the patient's threads gets it then. The names
    /// of those who left; the thread as it stands is in the list either way.
    pub async fn set_only_me(
        &self,
        session: Session,
        thread_id: &str,
        only_me: bool,
    ) -> Result<Vec<String>, SessionError> {
        let result = if only_me {
            self.keep_to_patient(session, thread_id).await
        } else {
            session
                .with_step_up(|token| async move {
                    api::threads::set_only_me(&token, thread_id, false).await
                })
                .await
                .map(|()| Vec::new())
        };
        let reloaded = self.reload_thread(session, thread_id).await;
        let left = result?;
        reloaded?;
        if !only_me {
            self.share_whole_scopes(session);
        }
        Ok(left)
    }

    /// Takes every caregiver out of `thread_id`, each removal marking it
    /// Only me, and marks it so when none is in it.
    async fn keep_to_patient(
        &self,
        session: Session,
        thread_id: &str,
    ) -> Result<Vec<String>, SessionError> {
        let ticket = session.ticket();
        let mut left = Vec::new();
        // One added just before the first removal is found on the next look.
        for _ in 0..3 {
            let token = session.token().ok_or(SessionError::Interrupted)?;
            let thread = api::threads::thread(&token, thread_id).await?;
            session.check(ticket)?;
            let caregivers: Vec<(String, String)> = thread
                .members
                .iter()
                .filter(|m| m.role == Role::Caregiver)
                .map(|m| (m.account_id.clone(), m.display_name.clone()))
                .collect();
            if caregivers.is_empty() {
                if !thread.only_me {
                    api::threads::set_only_me(&token, thread_id, true).await?;
                }
                return Ok(left);
            }
            for (caregiver_id, name) in caregivers {
                self.remove_caregiver(session, thread_id, &caregiver_id, true)
                    .await?;
                left.push(name);
            }
        }
        Ok(left)
    }

    /// Reads `thread_id` again into the list (members, epoch, flags).
    async fn reload_thread(&self, session: Session, thread_id: &str) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let thread = api::threads::thread(&token, thread_id).await?;
        session.check(ticket)?;
        self.upsert_thread(thread);
        Ok(())
    }
}
