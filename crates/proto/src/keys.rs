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
}
