//! Public key bundles.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// `PUT /v1/keys/me`: publish the caller's bundle (its `account_id` must be
/// the caller's; the relay checks the self-signature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishBundleRequest {
    /// `ward_seal::keys::PublicBundle::to_bytes`.
    pub bundle: Bytes,
}

/// An account's current bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleResponse {
    /// Whose.
    pub account_id: String,
    /// The signed bundle.
    pub bundle: Bytes,
    /// When it was published (Unix seconds).
    pub published_at: u64,
    /// The position of the key-history entry holding this bundle.
    pub seq: u64,
    /// The 32-byte hash of that key-history entry.
    pub head: Bytes,
}

/// `GET /v1/keys/{account_id}/history`: every bundle the account published,
/// oldest first, hash-chained (`ward_seal::key_history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyHistoryResponse {
    /// Whose history.
    pub account_id: String,
    /// The whole chain, oldest first.
    pub entries: Vec<KeyHistoryEntry>,
}

/// One entry of an account's key history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyHistoryEntry {
    /// Position, from 0.
    pub seq: u64,
    /// The signed bundle.
    pub bundle: Bytes,
    /// The entry's 32-byte chain hash.
    pub hash: Bytes,
    /// When it was published (Unix seconds).
    pub published_at: u64,
}
