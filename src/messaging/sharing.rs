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

/// Whether sharing a thread unasked failed for good, until the next
/// unlock: the relay refused it for good (403: a confidential category, a
/// grant just ended), or this device cannot seal it (keys that do not
/// match its pins, a history the relay rewrote). A busy or unreachable
/// relay, an epoch that moved, keys not yet published or a change to
/// confirm may pass on a later reload.
fn settled(error: &SessionError) -> bool {
    match error {
        SessionError::Api(ApiError::Refused { status, code, .. }) => {
            *status < 500
                && !matches!(
                    code,
                    ErrorCode::InvalidSealedKey | ErrorCode::EpochConflict | ErrorCode::StaleEpoch
                )
        }
        SessionError::KeyHistoryRewritten
        | SessionError::SplitView
        | SessionError::Crypto
        | SessionError::OnlyMeThread => true,
        _ => false,
    }
}

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
    /// background. A pair that failed for good ([`settled`]) is not tried
    /// again until the next unlock; any other failure is tried on the next
    /// reload. Once shared, the member list is the record.
    pub(crate) fn share_whole_scopes(&self, session: Session) {
        let missing = self.missing_from_scopes(session);
        if missing.is_empty() {
            return;
        }
        self.sharing_scope
            .update_value(|tried| tried.extend(missing.iter().cloned()));
        let inbox = *self;
        leptos::task::spawn_local(async move {
            // Pairs the set of tried ones lets go of, to be tried again.
            let mut forget = HashSet::new();
            let mut pairs = missing.into_iter();
            for (thread_id, caregiver_id) in pairs.by_ref() {
                let result = inbox
                    .share_unasked(session, &thread_id, &caregiver_id)
                    .await;
                // Shared pairs go too: the member list is the record.
                let let_go = match &result {
                    Ok(()) => true,
                    Err(SessionError::Interrupted) => {
                        forget.insert((thread_id, caregiver_id));
                        break;
                    }
                    Err(error) => !settled(error),
                };
                if let_go {
                    forget.insert((thread_id, caregiver_id));
                }
            }
            // Those not reached (a lock came first) are tried after it.
            forget.extend(pairs);
            inbox
                .sharing_scope
                .update_value(|tried| tried.retain(|pair| !forget.contains(pair)));
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
        let asked_at = js_sys::Date::now();
        let thread = api::threads::thread(&token, thread_id).await?;
        session.check(ticket)?;
        self.upsert_thread(thread, asked_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: ErrorCode) -> SessionError {
        SessionError::Api(ApiError::Refused {
            status,
            code,
            message: String::new(),
            retry_after_seconds: None,
        })
    }

    #[test]
    fn only_refusals_for_good_and_what_cannot_be_sealed_settle_a_pair() {
        assert!(settled(&refused(403, ErrorCode::OnlyMeThread)));
        assert!(settled(&refused(403, ErrorCode::NotYourCaregiver)));
        assert!(settled(&SessionError::KeyHistoryRewritten));
        assert!(settled(&SessionError::Crypto));
        assert!(!settled(&refused(503, ErrorCode::StorageUnavailable)));
        assert!(!settled(&refused(409, ErrorCode::EpochConflict)));
        assert!(!settled(&refused(409, ErrorCode::StaleEpoch)));
        assert!(!settled(&refused(400, ErrorCode::InvalidSealedKey)));
        assert!(!settled(&SessionError::Api(ApiError::Unreachable)));
        assert!(!settled(&SessionError::MemberKeysMissing));
        assert!(!settled(&SessionError::KeyChanged));
    }
}
