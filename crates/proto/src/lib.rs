//! The relay API's wire types.
//!
//! Every request and response body that crosses between the web client, the
//! relay and the clinic agent is defined here once, so the two ends cannot
//! drift apart. Types are plain data: no I/O, no cryptography. Binary values
//! (bundles, envelopes, sealed keys, vaults) travel as unpadded base64url
//! strings ([`Bytes`]); every request type refuses unknown fields.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod auth;
pub mod blobs;
mod bytes;
pub mod caregivers;
pub mod error;
pub mod events;
pub mod health;
pub mod keys;
pub mod passkeys;
pub mod threads;
pub mod vault;

pub use bytes::Bytes;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use health::{HEALTH_PATH, Health, HealthStatus};
