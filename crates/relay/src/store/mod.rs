//! The relay's storage layer: every SQL statement of the routes and of the
//! mechanisms behind them (sessions, passkeys, lockout, history, the
//! sweeps, retention, the archive chain, the blob cleanup, the fanout's
//! `NOTIFY`) lives here, behind one named function per statement (or per
//! read-then-write step), so a caller says what it does to the database
//! and never how.
//!
//! The SQL is written once for both backends (see [`crate::db`]): `$N`
//! placeholders, [`crate::db::Flag`] for yes/no answers, stored enums read
//! through [`crate::db::Text`] (an unknown stored name is an error). Rows
//! come back as the structs below, never as `AnyRow`; a stored message
//! comes back as the API's `StoredMessage`, through one mapping
//! ([`envelopes`]).
//!
//! Transactions stay where the callers open them: a function that must run
//! inside the caller's transaction takes `&mut AnyConnection`; one that
//! runs on its own takes the pool. Functions answer `sqlx::Error`; turning
//! that into an API error is the caller's business.
//!
//! Left outside: [`crate::db`]'s own plumbing (the connection set-up, the
//! advisory lock, the migration count) and the fanout's PostgreSQL
//! listener. `tests` below keeps the route modules, and the mechanisms that
//! once held SQL, free of it.

pub mod accounts;
pub mod archive;
pub mod attachments;
pub mod blobs;
pub mod caregivers;
pub mod code_logins;
pub mod consent;
pub mod envelopes;
pub mod guesses;
pub mod history;
pub mod inbox;
pub mod invites;
pub mod keys;
pub mod members;
pub mod passkeys;
pub mod pokes;
pub mod push;
pub mod receipts;
pub mod relay_secret;
pub mod retention;
pub mod sealed_keys;
pub mod sends;
pub mod sessions;
pub mod setup;
pub mod threads;
pub mod totp;
pub mod uploads;
pub mod vaults;

#[cfg(test)]
pub(crate) mod query_plans;
#[cfg(test)]
mod tests;
