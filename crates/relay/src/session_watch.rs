//! The sessions of this relay's open WebSockets, checked together.
//!
//! A live connection must close when its session ends (signed out
//! elsewhere, removed from Settings, idle or expired). Each connection
//! used to ask the database for its own session once a minute: with
//! 17 000 connections opened together that was 17 000 queries in a burst
//! every minute, a round trip each on PostgreSQL, which took the CPU the
//! sends needed (docs/benchmarks.md, "Relay capacity"). Now a connection
//! registers its session here, one task checks every registered session
//! every [`RECHECK`] with one query per [`CHUNK`] sessions, and the
//! connections whose session ended are told through a `watch` channel. A
//! session signed out through this relay ends its connections here at once
//! ([`SessionWatch::end`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;

use crate::background::Task;
use crate::store;

/// How often the registered sessions are checked.
pub const RECHECK: Duration = Duration::from_secs(60);

/// Sessions checked by one query.
pub const CHUNK: usize = 500;

/// The registered sessions, by token hash.
#[derive(Debug, Clone, Default)]
pub struct SessionWatch {
    sessions: Arc<Mutex<HashMap<Vec<u8>, Watched>>>,
}

#[derive(Debug)]
struct Watched {
    /// How many connections hold it.
    holders: usize,
    /// Becomes `true` once the session ended.
    ended: watch::Sender<bool>,
}

/// A connection's hold on its session's watch; unregisters when dropped.
#[derive(Debug)]
pub struct Registration {
    watch: SessionWatch,
    token_hash: Vec<u8>,
    ended: watch::Receiver<bool>,
}

impl Registration {
    /// Resolves once the session has ended (at once if it already has).
    pub async fn ended(&mut self) {
        // An error means the sender is gone, which happens only when the
        // entry was removed, i.e. never while this registration holds it;
        // treat it as ended all the same.
        let _ = self.ended.wait_for(|ended| *ended).await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sessions = self
            .watch
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(watched) = sessions.get_mut(&self.token_hash) {
            watched.holders = watched.holders.saturating_sub(1);
            if watched.holders == 0 {
                sessions.remove(&self.token_hash);
            }
        }
    }
}

impl SessionWatch {
    /// Watches the session behind `token_hash` for a connection.
    pub fn register(&self, token_hash: Vec<u8>) -> Registration {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let watched = sessions
            .entry(token_hash.clone())
            .or_insert_with(|| Watched {
                holders: 0,
                ended: watch::Sender::new(false),
            });
        watched.holders += 1;
        let ended = watched.ended.subscribe();
        drop(sessions);
        Registration {
            watch: self.clone(),
            token_hash,
            ended,
        }
    }

    /// Tells the connections of the session behind `token_hash` that it
    /// ended (it was signed out through this relay): they close now, not at
    /// the next check.
    pub fn end(&self, token_hash: &[u8]) {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(watched) = sessions.get(token_hash) {
            watched.ended.send_replace(true);
        }
    }

    /// Whether a connection of the session behind `token_hash` is
    /// registered here.
    pub fn holds(&self, token_hash: &[u8]) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(token_hash)
    }

    /// How many sessions are registered.
    pub fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks every registered session as of `now` (Unix milliseconds),
    /// idle ones being those last active before `idle_since`, and tells
    /// the connections of those that ended; how many ended. The live ones
    /// are marked as having a WebSocket open at `now` (their presence for
    /// Web Push, [`crate::push::presence`]).
    pub async fn check(
        &self,
        db: &AnyPool,
        now: i64,
        idle_since: i64,
    ) -> Result<usize, sqlx::Error> {
        let hashes: Vec<Vec<u8>> = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        let mut ended = 0;
        for chunk in hashes.chunks(CHUNK) {
            let live = store::sessions::live_among(db, chunk, now, idle_since).await?;
            let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            for hash in chunk.iter().filter(|hash| !live.contains(*hash)) {
                if let Some(watched) = sessions.get(hash) {
                    watched.ended.send_replace(true);
                    ended += 1;
                }
            }
        }
        Ok(ended)
    }
}

/// Runs [`SessionWatch::check`] every `every`, sessions idle for
/// `idle` counting as ended. A failure is logged and retried next time
/// (the connections stay open meanwhile, as they would have).
pub fn spawn(db: AnyPool, watch: SessionWatch, idle: Duration, every: Duration) -> Task {
    let idle = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    Task::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let now = crate::secrets::now_ms();
            match watch.check(&db, now, now.saturating_sub(idle)).await {
                Ok(0) => {}
                Ok(ended) => {
                    tracing::debug!(ended, "closing the live connections of ended sessions")
                }
                Err(error) => {
                    tracing::warn!(%error, "checking live connections' sessions failed; retrying")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn ended_sessions_are_told_and_live_ones_are_not() {
        let (_data, db) = crate::store::query_plans::scratch().await;
        let mut conn = db.acquire().await.unwrap();
        store::accounts::insert(
            &mut conn,
            store::accounts::NewAccount {
                account_id: "acc_a",
                kind: ward_proto::threads::Role::Patient,
                display_name: "A",
                contact: Some("a@example.com"),
                created_at: 0,
            },
        )
        .await
        .unwrap();
        drop(conn);
        let session = |hash: &'static [u8], id: &'static str| store::sessions::NewSession {
            token_hash: hash,
            session_id: id,
            account_id: "acc_a",
            now: 1_000,
            expires_at: 100_000,
            user_agent: None,
        };
        store::sessions::insert(&db, session(b"live", "ses_1"))
            .await
            .unwrap();
        store::sessions::insert(&db, session(b"signed out", "ses_2"))
            .await
            .unwrap();
        let watch = SessionWatch::default();
        let mut live = watch.register(b"live".to_vec());
        let mut signed_out = watch.register(b"signed out".to_vec());
        // Sessions with no row at all (more than one query's worth): ended.
        let mut unknown: Vec<Registration> = (0..CHUNK + 3)
            .map(|i| watch.register(format!("unknown {i}").into_bytes()))
            .collect();
        let mut twice = watch.register(b"unknown 0".to_vec());
        assert_eq!(watch.len(), CHUNK + 5, "one entry per session");

        assert_eq!(watch.check(&db, 2_000, 0).await.unwrap(), CHUNK + 3);
        for registration in &mut unknown {
            registration.ended().await;
        }
        twice.ended().await;
        assert!(!*live.ended.borrow() && !*signed_out.ended.borrow());

        store::sessions::revoke_token(&db, b"signed out", 3_000)
            .await
            .unwrap();
        assert_eq!(watch.check(&db, 4_000, 0).await.unwrap(), CHUNK + 4);
        signed_out.ended().await;
        assert!(!*live.ended.borrow(), "the live session's connection stays");
        // Idle since before its last activity, or expired: ended too.
        assert_eq!(watch.check(&db, 4_000, 1_000).await.unwrap(), CHUNK + 5);
        live.ended().await;

        drop(unknown);
        assert_eq!(watch.len(), 3, "the second holder keeps its entry");
        drop((twice, live, signed_out));
        assert!(watch.is_empty());
    }
}
