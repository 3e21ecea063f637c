//! Presence across relay instances, for Web Push: a session's `socket_at`
//! is set when one of its WebSockets opens, refreshed every minute by
//! [`crate::session_watch`] while any is open on this relay, and cleared
//! when the last one here closes. An account is live, and gets no pushes,
//! while any of its sessions has `socket_at` within
//! [`super::LIVE_WINDOW_MS`].

use crate::session_watch::Registration;
use crate::{AppState, store};

/// An open WebSocket's hold on its session's watch and presence. Dropped
/// when the socket ends: it unregisters from the watch, and if no other
/// socket of the session is open on this relay, clears `socket_at`.
#[derive(Debug)]
pub struct Live {
    registration: Option<Registration>,
    state: AppState,
    token_hash: Vec<u8>,
}

impl Live {
    /// Marks the session behind `token_hash` (its socket authenticated
    /// and registered as `registration`) as live now. A failure is logged:
    /// at worst a push repeats what the socket delivers.
    pub async fn start(state: &AppState, registration: Registration, token_hash: Vec<u8>) -> Self {
        let now = crate::secrets::now_ms();
        if let Err(error) = store::push::socket_open(&state.db, &token_hash, now).await {
            tracing::warn!(%error, "could not mark a WebSocket's session as live");
        }
        Self {
            registration: Some(registration),
            state: state.clone(),
            token_hash,
        }
    }

    /// Resolves once the session has ended.
    pub async fn ended(&mut self) {
        if let Some(registration) = &mut self.registration {
            registration.ended().await;
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Unregister first, so the count below no longer includes this one.
        drop(self.registration.take());
        if self.state.session_watch.holds(&self.token_hash) {
            return;
        }
        let db = self.state.db.clone();
        let token_hash = std::mem::take(&mut self.token_hash);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = store::push::socket_closed(&db, &token_hash).await {
                    tracing::warn!(%error, "could not mark a closed WebSocket's session as gone");
                }
            });
        }
    }
}
