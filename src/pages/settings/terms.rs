//! The caregiver terms as a settings page shows them before a patient
//! agrees (inviting someone, or a teen agreeing to a guardian the clinic
//! appointed): loaded for the page, and again when the relay refuses an
//! agreement because they changed since they were shown.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::ErrorCode;
use ward_proto::account::ConsentText;

use crate::api;
use crate::session::{Session, SessionError};

/// The terms on one page.
#[derive(Clone, Copy)]
pub(super) struct CaregiverTerms {
    /// What is shown (none until loaded).
    pub(super) shown: RwSignal<Option<ConsentText>>,
    session: Session,
    /// Where a failure to load them is said.
    error: RwSignal<Option<String>>,
}

impl CaregiverTerms {
    /// None shown yet; [`Self::load`] fetches them.
    pub(super) fn new(session: Session, error: RwSignal<Option<String>>) -> Self {
        Self {
            shown: RwSignal::new(None),
            session,
            error,
        }
    }

    /// Fetches the terms as they stand, in the background.
    pub(super) fn load(self) {
        spawn_local(async move {
            let Some(token) = self.session.token() else {
                return;
            };
            match api::caregivers::terms(&token).await {
                Ok(text) => self.shown.set(Some(text)),
                Err(e) => self.error.set(Some(self.session.explain(&e))),
            }
        });
    }

    /// After a refused agreement: the new terms replace those shown when
    /// the clinic changed them meanwhile.
    pub(super) fn after_refusal(self, error: &SessionError) {
        if matches!(error, SessionError::Api(api) if api.code() == Some(ErrorCode::ConsentChanged))
        {
            self.load();
        }
    }
}
