//! Ward's end-to-end encryption core.
//!
//! This is the only crate that touches key material. It performs no I/O and
//! builds for the host and for `wasm32-unknown-unknown`, so the browser and
//! the clinic agent seal and open exactly the same bytes. The byte-level
//! specification lives in `docs/crypto.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod padding;
