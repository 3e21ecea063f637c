//! The relay API's wire types.
//!
//! Every request and response body that crosses between the web client, the
//! relay and the clinic agent is defined here once, so the two ends cannot
//! drift apart. Types are plain data: no I/O, no cryptography. Binary values
//! (bundles, envelopes, sealed keys, vaults) travel as unpadded base64url
//! strings ([`Bytes`]); every request type refuses unknown fields.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Implements `Deserialize` for a unit enum from its wire names, read as
/// a string and matched: the derived reader (a field visitor and an enum
/// access per type) costs the web client several times the code. The
/// names must be the ones its derived `Serialize` writes (each type's
/// round-trip test checks). An unknown name is an error.
macro_rules! deserialize_by_name {
    ($ty:ty, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(deserializer)?;
                match name.as_str() {
                    $($name => Ok(Self::$variant),)+
                    _ => Err(serde::de::Error::custom(format!(
                        concat!("unknown ", $what, " `{}`"),
                        name
                    ))),
                }
            }
        }
    };
}

pub mod account;
pub mod auth;
pub mod blobs;
mod bytes;
pub mod caregivers;
pub mod embed;
pub mod error;
pub mod events;
pub mod health;
pub mod keys;
pub mod passkeys;
pub mod push;
pub mod threads;
pub mod vault;

pub use bytes::Bytes;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use health::{HEALTH_PATH, Health, HealthStatus};
