//! The encrypted vault, stored with a version for compare-and-swap.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// `GET /v1/vault`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultResponse {
    /// Goes up by one on every accepted write.
    pub version: u64,
    /// The opaque vault.
    pub vault: Bytes,
}

/// `PUT /v1/vault`: accepted only if `expected_version` is the current
/// version (0 when there is none yet); otherwise 409 and nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutVaultRequest {
    /// The version this write replaces.
    pub expected_version: u64,
    /// The new vault.
    pub vault: Bytes,
}

/// The version after an accepted write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultStored {
    /// The new version.
    pub version: u64,
}
