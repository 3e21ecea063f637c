//! A patient shares a thread with a caregiver, stops sharing it, or keeps
//! it to themselves ("Only me"). Sharing seals every epoch's key to the
//! caregiver's keys (checked against this device's pins, pinned on first
//! use), so they read the whole conversation; stopping starts the next
//! epoch sealed to those who remain, in the same step, so nothing written
//! after is readable with what the caregiver holds.

use leptos::prelude::*;
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};

use super::{Inbox, crypto};
use crate::api;
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
        let sealed: Vec<Vec<u8>> = sealed.iter().map(SealedThreadKey::to_bytes).collect();
        session
            .with_step_up(|token| {
                let sealed = sealed.clone();
                async move { api::threads::add_member(&token, thread_id, caregiver_id, sealed).await }
            })
            .await?;
        self.reload_thread(session, thread_id).await
    }

    /// Stops sharing `thread_id` with `caregiver_id`: they leave it, and
    /// its next epoch, sealed to those who remain, starts in the same step.
    pub async fn stop_sharing(
        &self,
        session: Session,
        thread_id: &str,
        caregiver_id: &str,
    ) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let thread = api::threads::thread(&token, thread_id).await?;
        session.check(ticket)?;
        let (next, key, sealed) =
            crypto::seal_next_epoch(self, session, &thread, Some(caregiver_id)).await?;
        api::threads::remove_member(&token, thread_id, caregiver_id, next, sealed).await?;
        session.check(ticket)?;
        self.keys.update_value(|k| {
            k.insert((thread_id.to_owned(), next), key);
        });
        self.reload_thread(session, thread_id).await
    }

    /// Marks `thread_id` as the patient's alone (never shared), or not.
    pub async fn set_only_me(
        &self,
        session: Session,
        thread_id: &str,
        only_me: bool,
    ) -> Result<(), SessionError> {
        let token = session.token().ok_or(SessionError::Interrupted)?;
        api::threads::set_only_me(&token, thread_id, only_me).await?;
        self.reload_thread(session, thread_id).await
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
