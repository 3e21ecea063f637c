//! `docs/api/openapi.json` is the document the relay serves. Regenerate it
//! after an API change with `WARD_WRITE_OPENAPI=1 cargo test -p ward-relay --test openapi_file`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn the_committed_api_document_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/openapi.json");
    let generated = ward_relay::openapi_json() + "\n";
    if std::env::var_os("WARD_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/api/openapi.json is out of date: run WARD_WRITE_OPENAPI=1 cargo test -p ward-relay --test openapi_file"
    );
}
