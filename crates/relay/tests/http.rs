//! The relay over HTTP: in-process with `oneshot`, and over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tower::ServiceExt;
use ward_proto::{Health, HealthStatus};
use ward_relay::{AppState, Config, StaticSite, app, db};

async fn state(data: &TempDir, site: Option<&TempDir>) -> AppState {
    AppState::open(Config {
        data: data.path().to_path_buf(),
        static_dir: site.map(|dir| dir.path().to_path_buf()),
        dev: true,
        ..Config::default()
    })
    .await
    .unwrap()
}

/// A stand-in for Trunk's `dist/`, shaped like what Trunk writes.
fn fake_dist() -> TempDir {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><html><head>\
         <script type=\"module\">import init from '/ward.js';await init();</script>\
         </head><body></body></html>",
    )
    .unwrap();
    std::fs::write(dist.path().join("ward_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        dist.path().join("ward-66053564f23e2b08_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(
        dist.path().join("robots.txt"),
        "User-agent: *\nDisallow: /\n",
    )
    .unwrap();
    dist
}

#[tokio::test]
async fn health_reports_applied_migrations() {
    let data = tempfile::tempdir().unwrap();
    let response = app(state(&data, None).await)
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let health: Health = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(
        health.migrations_applied as usize,
        db::SQLITE_MIGRATIONS.iter().count()
    );
    assert!(data.path().join(db::DATABASE_FILE).is_file());
}

#[tokio::test]
async fn health_is_degraded_when_the_database_is_gone() {
    let data = tempfile::tempdir().unwrap();
    let state = state(&data, None).await;
    state.db.close().await;
    let response = app(state)
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn reopening_an_existing_database_keeps_it() {
    let data = tempfile::tempdir().unwrap();
    let first = db::open(&sqlite_in(data.path())).await.unwrap();
    sqlx::query("INSERT INTO relay_info (key, value) VALUES ('marker', 'kept')")
        .execute(&first)
        .await
        .unwrap();
    first.close().await;
    let second = db::open(&sqlite_in(data.path())).await.unwrap();
    let value: String = sqlx::query_scalar("SELECT value FROM relay_info WHERE key = 'marker'")
        .fetch_one(&second)
        .await
        .unwrap();
    assert_eq!(value, "kept");
}

#[tokio::test]
async fn serves_the_client_with_a_policy_that_admits_its_loader() {
    let data = tempfile::tempdir().unwrap();
    let dist = fake_dist();
    let router = app(state(&data, Some(&dist)).await);

    let index = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    let csp = index.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("'sha256-"), "inline loader not hashed: {csp}");
    assert_eq!(index.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let wasm = router
        .clone()
        .oneshot(Request::get("/ward_bg.wasm").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(wasm.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(wasm.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(index.headers()[header::CACHE_CONTROL], "no-cache");

    // A file Trunk named by its hash never changes under that name.
    let hashed = router
        .clone()
        .oneshot(
            Request::get("/ward-66053564f23e2b08_bg.wasm")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        hashed.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // Its revalidation (304) says so too: browsers keep a 304's headers.
    let modified = hashed.headers()[header::LAST_MODIFIED].clone();
    let revalidated = router
        .clone()
        .oneshot(
            Request::get("/ward-66053564f23e2b08_bg.wasm")
                .header(header::IF_MODIFIED_SINCE, modified)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        revalidated.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // A hashed name that is not there is the client's index, never immutable.
    let missing = router
        .clone()
        .oneshot(
            Request::get("/ward-0000000000000000.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(missing.headers()[header::CACHE_CONTROL], "no-cache");

    // robots.txt is a real file: these are private pages.
    let robots = router
        .clone()
        .oneshot(Request::get("/robots.txt").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        robots.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = robots.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"User-agent: *\nDisallow: /\n");

    // A deep link is the client's to route.
    let deep = router
        .oneshot(Request::get("/threads/42").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(deep.status(), StatusCode::OK);
    let body = deep.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"<!doctype html>"));
}

#[test]
fn a_missing_build_fails_at_start_with_a_next_step() {
    let empty = tempfile::tempdir().unwrap();
    let error = StaticSite::load(empty.path()).unwrap_err().to_string();
    assert!(error.contains("index.html"), "{error}");
    assert!(error.contains("cargo xtask dev"), "{error}");
}

#[tokio::test]
async fn answers_over_a_real_socket() {
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ward_relay::serve(
        listener,
        state(&data, None).await,
        async {
            let _ = stopped.await;
        },
    ));

    let health: Health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health.status, HealthStatus::Ok);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A configuration whose database is the SQLite file in `data`.
fn sqlite_in(data: &std::path::Path) -> ward_relay::Config {
    ward_relay::Config {
        data: data.to_path_buf(),
        ..ward_relay::Config::default()
    }
}

#[tokio::test]
async fn the_embed_script_is_the_one_response_other_sites_may_load() {
    let data = tempfile::tempdir().unwrap();
    let dist = fake_dist();
    let router = app(state(&data, Some(&dist)).await);
    let mut bodies = Vec::new();
    for path in ["/embed/v1.js", "/embed.js"] {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
        bodies.push(response.into_body().collect().await.unwrap().to_bytes());
    }
    assert_eq!(bodies[0], bodies[1], "/embed.js is the newest version, v1");
    assert!(String::from_utf8_lossy(&bodies[0]).contains("publickey-credentials-get"));
    // Everything else stays unreadable to other sites: a page, the API
    // (signed in or not), an unknown API path.
    for path in [
        "/",
        "/v1/clinic",
        "/v1/embed",
        "/v1/nothing-here",
        "/healthz",
    ] {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.headers()["cross-origin-resource-policy"],
            "same-origin",
            "{path}"
        );
        assert!(
            !response
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_sites_that_may_embed_ward_are_public_and_exactly_the_frame_ancestors() {
    let data = tempfile::tempdir().unwrap();
    let state = AppState::open(Config {
        data: data.path().to_path_buf(),
        dev: true,
        frame_ancestors: vec!["https://www.riverside-clinic.example".into()],
        ..Config::default()
    })
    .await
    .unwrap();
    let response = app(state)
        .oneshot(Request::get("/v1/embed").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "no session needed");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'self' https://www.riverside-clinic.example;"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let info: ward_proto::embed::EmbedInfo = serde_json::from_slice(&body).unwrap();
    assert_eq!(info.origins, ["https://www.riverside-clinic.example"]);
}
