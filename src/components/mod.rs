//! Small view pieces shared by screens.

pub(crate) mod attachment;
pub(crate) mod code;
pub(crate) mod composer;
pub(crate) mod consent;
pub(crate) mod emergency;
pub(crate) mod notice;
pub(crate) mod qr;
pub(crate) mod relay_status;
pub(crate) mod viewport;

/// `text` in lower case, by the browser's Unicode rules
/// (`String.prototype.toLowerCase`): Rust's `to_lowercase` would carry its
/// own Unicode case tables into the client (about 10 KB gzip with
/// `to_uppercase`, docs/benchmarks.md) for what every browser has.
#[cfg(target_arch = "wasm32")]
pub(crate) fn lowercase(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

/// The same, for the native unit tests (there is no browser there).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn lowercase(text: &str) -> String {
    text.to_lowercase()
}
