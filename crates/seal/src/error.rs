//! The opaque error every open/verify path collapses into.

/// Something did not decrypt or did not verify.
///
/// Deliberately carries no detail: an attacker probing with altered
/// envelopes, streams or vaults learns nothing about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("could not decrypt or verify: the data was altered, truncated, or not meant for this key")]
pub struct DecryptError;
