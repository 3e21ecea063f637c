//! `GET /embed/v1.js` (and `/embed.js`, the newest version): the script a
//! clinic's page loads to put Ward in an iframe (docs/embedding.md); and
//! `GET /v1/embed`, the sites Ward in a frame may talk to.
//!
//! The page is another site, so this one response is readable across
//! sites: `Cross-Origin-Resource-Policy: cross-origin` (every other
//! response says `same-origin`) and `Access-Control-Allow-Origin: *`, which
//! a `<script integrity=… crossorigin="anonymous">` needs for the browser
//! to check the hash. It carries no credentials and nothing about anyone.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use ward_proto::embed::EmbedInfo;

use crate::AppState;

/// `GET /v1/embed`
#[utoipa::path(get, path = "/v1/embed", tag = "clinic", responses((status = 200, description = "OK: the sites allowed to embed Ward (its frame_ancestors)", body = ward_proto::embed::EmbedInfo)))]
pub async fn info(State(state): State<AppState>) -> Json<EmbedInfo> {
    Json(EmbedInfo {
        origins: state.config.frame_ancestors.clone(),
    })
}

/// Version 1, byte for byte: its hash is in docs/embedding.md (pinned by a
/// test), so it never changes; a change is a new version.
pub const V1: &str = include_str!("../../embed/v1.js");

/// The script, with the headers a cross-site `<script>` needs.
pub async fn script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        V1,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The script's Subresource Integrity value, `sha384-` and the base64
    /// digest.
    fn integrity() -> String {
        use base64::Engine;
        use sha2::{Digest, Sha384};
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha384::digest(V1.as_bytes()))
        )
    }

    #[test]
    fn the_documented_integrity_is_the_served_scripts() {
        let integrity = integrity();
        for file in ["docs/embedding.md", "examples/clinic-site/index.html"] {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../..")
                    .join(file),
            )
            .unwrap();
            assert!(
                text.contains(&format!("integrity=\"{integrity}\"")),
                "{file} must give the served script's hash: {integrity}"
            );
        }
    }
}
