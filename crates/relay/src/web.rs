//! Serving the built web client, and the security headers on every response.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::StartError;

/// The web client as Trunk built it (`dist/`), with what the Content Security
/// Policy must know about its `index.html`.
#[derive(Debug, Clone)]
pub struct StaticSite {
    dir: Arc<Path>,
    /// `'sha256-…'` sources for the inline scripts Trunk writes into
    /// `index.html` (its wasm loader). Hashes, not Trunk's nonce: Trunk
    /// writes a static nonce, which would protect nothing.
    inline_script_hashes: Arc<[String]>,
}

impl StaticSite {
    /// Reads `dir/index.html` once, so a missing build fails at start rather
    /// than on the first patient's request.
    pub fn load(dir: &Path) -> Result<Self, StartError> {
        let index = dir.join("index.html");
        let html = std::fs::read_to_string(&index).map_err(|source| StartError::Site {
            path: index.clone(),
            source,
        })?;
        Ok(Self {
            dir: Arc::from(dir),
            inline_script_hashes: inline_script_hashes(&html).into(),
        })
    }

    /// The directory served.
    pub fn dir(&self) -> PathBuf {
        self.dir.to_path_buf()
    }
}

/// What the security headers depend on besides the site.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// Origins allowed to embed Ward (validated by `Config::validate`).
    pub frame_ancestors: Vec<String>,
    /// Whether to send HSTS (browsers reach the relay over HTTPS).
    pub tls: bool,
}

/// The Content Security Policy for every response.
///
/// `'wasm-unsafe-eval'` is what compiling the client's WebAssembly needs; it
/// does not allow JavaScript `eval`.
pub fn content_security_policy(site: Option<&StaticSite>, headers: &Headers) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in site
        .iter()
        .flat_map(|site| site.inline_script_hashes.iter())
    {
        script_src.push(' ');
        script_src.push_str(hash);
    }
    let mut frame_ancestors = String::from("'self'");
    for origin in &headers.frame_ancestors {
        frame_ancestors.push(' ');
        frame_ancestors.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src {script_src}; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; manifest-src 'self'; worker-src 'self'; font-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}; object-src 'none'"
    )
}

/// Mounts the web client (when there is one) beside the API routes and adds
/// the security headers to every response.
pub fn with_site(api: Router, site: Option<&StaticSite>, headers: &Headers) -> Router {
    let mut router = api;
    if let Some(site) = site {
        // Unknown paths get index.html so the client's router can handle
        // deep links such as /threads/42.
        let index = ServeFile::new(site.dir.join("index.html"));
        let files = ServeDir::new(&*site.dir).fallback(index);
        router = router
            .fallback_service(files)
            .layer(axum::middleware::from_fn(cache_control));
    }
    let csp = HeaderValue::from_str(&content_security_policy(site, headers))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    if headers.tls {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    // Attachment parts are ciphertext: compressing them costs the relay CPU
    // and saves nothing.
    let compress =
        DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream"));
    router
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(axum::middleware::from_fn(opener_policy))
        // No other site may load Ward's responses as images, scripts and
        // the like (framing is governed by frame-ancestors, not this). The
        // one response made for other sites, the embed script, says
        // `cross-origin` itself, and this leaves it.
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "publickey-credentials-create=(self), publickey-credentials-get=(self), \
                 camera=(self), microphone=(), geolocation=(), payment=()",
            ),
        ))
}

/// The page Ward inside a clinic's frame opens to make a passkey (the web
/// client's `auth::popup`).
pub const PASSKEY_WINDOW_PATH: &str = "/passkey-window";

/// `Cross-Origin-Opener-Policy`: Ward's windows share a browsing context
/// group with no other site's (a page Ward opens, or that opens Ward, gets
/// no handle on it), except the passkey window: its opener is Ward's own
/// frame, inside a clinic's page, and `same-origin` would cut it off from
/// that frame (the opener's top-level page is the clinic's), so it says
/// `unsafe-none`. It holds no session and takes messages only from Ward's
/// origin. Not `same-origin-allow-popups` elsewhere: that only matters for
/// popups Ward opens to other sites, and it opens none.
async fn opener_policy(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let popup = request.uri().path() == PASSKEY_WINDOW_PATH;
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static(if popup { "unsafe-none" } else { "same-origin" }),
    );
    response
}

/// Whether `path` names a file Trunk gave a content hash
/// (`/ward-0123456789abcdef_bg.wasm`, `/main-0123456789abcdef.css`): its
/// bytes never change under that name.
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix('/').filter(|name| !name.contains('/')) else {
        return false;
    };
    let Some((stem, extension)) = name.split_once('.') else {
        return false;
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    matches!(extension, "js" | "wasm" | "css")
        && stem.rsplit_once('-').is_some_and(|(_, hash)| {
            // Trunk writes its 64-bit hash unpadded: rarely under 16 digits.
            (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// `Cache-Control` for what has none: a hashed asset is kept a year
/// without asking again (`immutable`, on its 304s too, which browsers copy
/// into what they keep); everything else of the site (index.html, the
/// icons) is revalidated every time (cheap 304s), so a new client reaches
/// the patient at the next load. The API's answers carry their own
/// `no-store`. Trunk's hash is of cargo's wasm, before wasm-opt: a change
/// to the wasm-opt settings alone keeps the names, so such a change must
/// come with a code change (or a new build directory) to reach patients.
async fn cache_control(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        // A hashed name that is not there gets index.html (the fallback),
        // which must never be kept under it.
        let is_html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
        let kept = response.status().is_success()
            || response.status() == axum::http::StatusCode::NOT_MODIFIED;
        let value = if hashed && kept && !is_html {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// CSP hash sources for every inline `<script>` (one without `src`).
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag = &rest[start..];
        let Some(open_end) = tag.find('>') else { break };
        let body_and_after = &tag[open_end + 1..];
        let Some(close) = body_and_after.find("</script>") else {
            break;
        };
        if !tag[..open_end].contains(" src=") {
            let digest = Sha256::digest(&body_and_after.as_bytes()[..close]);
            hashes.push(format!("'sha256-{}'", BASE64.encode(digest)));
        }
        rest = &body_and_after[close + "</script>".len()..];
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_inline_scripts_only() {
        let html = r#"<html><head>
<script type="module" src="/x.js"></script>
<script type="module">import init from '/w.js';await init();</script>
</head></html>"#;
        let hashes = inline_script_hashes(html);
        let expected = BASE64.encode(Sha256::digest(b"import init from '/w.js';await init();"));
        assert_eq!(hashes, vec![format!("'sha256-{expected}'")]);
    }

    #[test]
    fn only_trunks_hashed_files_are_immutable() {
        for hashed in [
            "/ward-66053564f23e2b08_bg.wasm",
            "/ward-66053564f23e2b08.js",
            "/main-3987fc3c568f6814.css",
            "/ward-6053564f23e2b08.js",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for not in [
            "/",
            "/index.html",
            "/icon-192.png",
            "/favicon.ico",
            "/robots.txt",
            "/ward.js",
            "/x/ward-66053564f23e2b08.js",
            "/ward-66053564f23e2b0g.js",
            "/ward-abc.js",
            "/v1/threads",
        ] {
            assert!(!is_hashed_asset(not), "{not}");
        }
    }

    #[test]
    fn framing_is_limited_to_the_configured_clinics() {
        let headers = Headers {
            frame_ancestors: vec!["https://riverside.example".into()],
            tls: false,
        };
        let csp = content_security_policy(None, &headers);
        assert!(
            csp.contains("frame-ancestors 'self' https://riverside.example;"),
            "{csp}"
        );
    }

    #[test]
    fn policy_allows_wasm_but_not_eval_or_inline() {
        let csp = content_security_policy(None, &Headers::default());
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(!csp.contains("'unsafe-inline'"));
    }
}
