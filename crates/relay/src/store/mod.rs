//! The relay's storage layer: every SQL statement of the account, sign-in,
//! key and vault routes and of their helpers lives here, behind one named
//! function per statement (or per read-then-write step), so a handler says
//! what it does to the database and never how.
//!
//! The SQL is written once for both backends (see [`crate::db`]): `$N`
//! placeholders, [`crate::db::Flag`] for yes/no answers, stored enums read
//! through [`crate::db::Text`] (an unknown stored name is an error). Rows
//! come back as the structs below, never as `AnyRow`.
//!
//! Transactions stay where the handlers open them: a function that must run
//! inside the caller's transaction takes `&mut AnyConnection`; one that
//! runs on its own takes the pool. Functions answer `sqlx::Error`; turning
//! that into an API error is the caller's business.
//!
//! Threads, envelopes, uploads and the sweep keep their SQL in their own
//! modules for now (`routes/threads.rs`, `routes/uploads.rs`, `sweep.rs`,
//! `blobs.rs`); `tests` below keeps the other route modules free of SQL.

pub mod accounts;
pub mod archive;
pub mod attachments;
pub mod blobs;
pub mod code_logins;
pub mod envelopes;
pub mod guesses;
pub mod history;
pub mod inbox;
pub mod invites;
pub mod keys;
pub mod members;
pub mod passkeys;
pub mod pokes;
pub mod receipts;
pub mod relay_secret;
pub mod retention;
pub mod sealed_keys;
pub mod sessions;
pub mod setup;
pub mod threads;
pub mod totp;
pub mod uploads;
pub mod vaults;

#[cfg(test)]
mod tests;
