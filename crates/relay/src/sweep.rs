//! Deletes the rows that requests leave behind once they can no longer be
//! used: passkey ceremonies, key-login challenges, code sign-ins,
//! enrollments, sessions and lockout counters. Many of these are created by
//! requests nobody signed in for; without this pass the database would
//! grow forever. Run at start and every [`SWEEP_INTERVAL`] beside the blob
//! cleanup ([`crate::blobs::spawn_sweeper`]).
//!
//! The clock is passed in (`now_ms`), so tests can move time.

use std::time::Duration;

use sqlx::AnyPool;

use crate::background::Task;
use crate::store;

/// How often [`spawn`] runs [`expired`].
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Used or expired one-time codes (code sign-ins, enrollments) are kept
/// this long after they expire: they help to read the logs of an incident
/// (the send caps count in `guess_counts`, not here).
pub const CODE_RETENTION_MS: i64 = 24 * 3_600_000;

/// Ended sessions (expired, or signed out) are kept this long: an account's
/// history may name them.
pub const SESSION_RETENTION_MS: i64 = 7 * 24 * 3_600_000;

/// What one pass deleted, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Passkey ceremonies past their expiry.
    pub ceremonies: u64,
    /// Key-login challenges past their expiry.
    pub key_challenges: u64,
    /// Code sign-ins expired longer than [`CODE_RETENTION_MS`].
    pub code_logins: u64,
    /// Enrollments expired longer than [`CODE_RETENTION_MS`].
    pub enrollments: u64,
    /// Sessions expired or revoked longer than [`SESSION_RETENTION_MS`].
    pub sessions: u64,
    /// Guess and send counters (`guess_counts`) whose window has ended
    /// (the next attempt would start again from one anyway).
    pub guess_counts: u64,
}

impl Swept {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.ceremonies
            + self.key_challenges
            + self.code_logins
            + self.enrollments
            + self.sessions
            + self.guess_counts
    }
}

/// Deletes every row that can no longer be used as of `now_ms` (Unix
/// milliseconds); what it deleted. (Caregiver grants end on their own
/// schedule: [`crate::grants`].)
///
/// Ceremonies and key challenges go once expired (they are single use and
/// short-lived; a used one was deleted when used). Code sign-ins and
/// enrollments go [`CODE_RETENTION_MS`] after they expire (a used one
/// expires on the same schedule). Sessions go [`SESSION_RETENTION_MS`]
/// after their absolute expiry or their revocation. Lockout counters go
/// when they lock nothing and their failures are older than the quiet
/// window after which [`crate::lockout`] forgets them.
pub async fn expired(db: &AnyPool, now_ms: i64) -> Result<Swept, sqlx::Error> {
    let code_cutoff = now_ms.saturating_sub(CODE_RETENTION_MS);
    let session_cutoff = now_ms.saturating_sub(SESSION_RETENTION_MS);
    Ok(Swept {
        ceremonies: store::passkeys::delete_expired_ceremonies(db, now_ms).await?,
        key_challenges: store::keys::delete_expired_challenges(db, now_ms).await?,
        code_logins: store::code_logins::delete_expired(db, code_cutoff).await?,
        enrollments: store::invites::delete_expired_enrollments(db, code_cutoff).await?,
        sessions: store::sessions::delete_ended(db, session_cutoff).await?,
        guess_counts: store::guesses::delete_ended(db, now_ms).await?,
    })
}

/// Runs [`expired`] now and then every [`SWEEP_INTERVAL`] with the relay's
/// clock, logging what it deleted and any failure (the next pass retries).
pub fn spawn(db: AnyPool) -> Task {
    Task::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match expired(&db, crate::secrets::now_ms()).await {
                Ok(swept) if swept.total() > 0 => tracing::info!(
                    ceremonies = swept.ceremonies,
                    key_challenges = swept.key_challenges,
                    code_logins = swept.code_logins,
                    enrollments = swept.enrollments,
                    sessions = swept.sessions,
                    guess_counts = swept.guess_counts,
                    "expired rows swept"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "expired-row cleanup failed; retrying later"),
            }
        }
    })
}
