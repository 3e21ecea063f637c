//! Ward's end-to-end encryption core.
//!
//! This is the only crate that touches key material. It performs no I/O and
//! builds for the host and for `wasm32-unknown-unknown`, so the browser and
//! the clinic agent seal and open exactly the same bytes. Every byte format
//! here is specified in `docs/crypto.md`, with test vectors under
//! `crates/seal/tests/vectors/`.
//!
//! * [`keys`]: an account's X25519 + Ed25519 keys and its signed public bundle.
//! * [`thread_key`]: per-epoch thread keys sealed to each member with HPKE.
//! * [`envelope`]: a message sealed under a thread key and signed by its sender.
//! * [`key_history`]: an account's hash-chained history of bundles, and pinning.
//! * [`account_log`]: an account's hash-chained access log, and its check.
//! * [`payload`]: what a message carries, padded to hide its length.
//! * [`stream`]: attachments, encrypted in 64 KiB chunks (STREAM).
//! * [`vault`]: the account's secret keys, wrapped per unlock method.
//! * [`recovery`]: the human-typed recovery code.
//!
//! Anything that fails to decrypt or verify fails with the one opaque
//! [`DecryptError`]: which check failed is not revealed to the caller.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account_log;
pub mod archive;
pub mod category;
pub mod envelope;
mod error;
#[cfg(feature = "open")]
mod glue;
#[cfg(test)]
#[cfg(feature = "open")]
mod kat_tests;
pub mod key_history;
#[cfg(feature = "open")]
pub mod keyfile;
pub mod keys;
pub mod padding;
#[cfg(feature = "open")]
pub mod payload;
#[cfg(feature = "open")]
pub mod random;
#[cfg(feature = "open")]
pub mod recovery;
pub mod stream;
pub mod thread_key;
mod transcript;
#[cfg(feature = "open")]
pub mod vault;
mod wire;
#[cfg(test)]
#[cfg(feature = "open")]
mod wycheproof_tests;

pub use error::DecryptError;
pub use rand_core;
pub use wire::InvalidId;
