//! The relay terminating TLS itself (rustls): HTTPS works, HSTS is sent,
//! and the session cookie is `__Host-` and `Secure`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::header;
use ward_relay::{AppState, Config};

#[tokio::test]
async fn serves_https_with_hsts_and_secure_cookies() {
    let data = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = data.path().join("cert.pem");
    let key = data.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let config = Config {
        data: data.path().to_path_buf(),
        tls_cert: Some(cert.clone()),
        tls_key: Some(key.clone()),
        public_origin: "https://localhost:8443".into(),
        dev: true,
        ..Config::default()
    };
    config.validate().unwrap();
    let state = AppState::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        ward_relay::serve_tls(listener, state, &cert, &key, async {
            let _ = stopped.await;
        })
        .await
    });

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    assert!(
        health.headers()[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .contains("max-age="),
        "HSTS under TLS"
    );
    let setup_code =
        std::fs::read_to_string(data.path().join(ward_relay::setup::SETUP_CODE_FILE)).unwrap();
    let session = client
        .post(format!("{base}/v1/clinic/setup"))
        .json(&serde_json::json!({"setup_code": setup_code, "display_name": "Clinic"}))
        .send()
        .await
        .unwrap();
    let cookie = session.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.starts_with("__Host-ward_session="), "{cookie}");
    assert!(
        health.headers()["cross-origin-opener-policy"] == "same-origin",
        "COOP under TLS"
    );

    // Plain HTTP to the TLS port is refused.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn half_a_tls_configuration_is_refused() {
    let config = Config {
        tls_cert: Some("cert.pem".into()),
        ..Config::default()
    };
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("tls_key")
    );
}
