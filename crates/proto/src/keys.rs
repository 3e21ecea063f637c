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
    /// The seq of the key-history entry holding this bundle.
    pub seq: u64,
    /// That entry's hash (32 bytes): `ward_seal::key_history::entry_hash`.
    pub head: Bytes,
}

/// `GET /v1/keys/{account_id}/history`: every bundle the account ever
/// published, oldest first, hash-chained (`ward_seal::key_history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyHistoryResponse {
    /// Whose.
    pub account_id: String,
    /// The whole chain, from seq 0.
    pub entries: Vec<KeyHistoryEntry>,
}

/// One entry of an account's key history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyHistoryEntry {
    /// Its position, from 0.
    pub seq: u64,
    /// The bundle published.
    pub bundle: Bytes,
    /// `entry_hash(previous hash, seq, bundle)` (32 bytes).
    pub hash: Bytes,
    /// When it was published (Unix seconds).
    pub published_at: u64,
}
