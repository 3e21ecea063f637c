//! Ward inside a clinic's website (docs/embedding.md).

use serde::{Deserialize, Serialize};

/// `GET /v1/embed` (no session): the sites allowed to embed Ward (the
/// relay's `frame_ancestors`, also in every page's Content Security
/// Policy, so nothing secret). Ward in a frame sends its embed messages to
/// these origins only, and reads messages only from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedInfo {
    /// Exact origins, e.g. `https://www.riverside-clinic.example`; empty
    /// when no site may embed Ward.
    pub origins: Vec<String>,
}
