//! The session in a browser: a cookie alone changes nothing unless the
//! request comes from Ward's own origin, the WebSocket takes its token from
//! the first frame and only Ward's exact origin, over HTTPS the cookie is
//! `__Host-` and `Secure` with HSTS, every response says COOP and CORP, and
//! `frame_ancestors` must list exact origins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;
use ward_proto::ErrorCode;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use support::{Relay, events};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;
use ward_proto::ErrorBody;
use ward_proto::events::{Event, EventsAuth};

/// One request through the whole app, in process.
async fn call(
    relay: &Relay,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = ward_relay::app(relay.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn error_code(body: &str) -> ErrorCode {
    serde_json::from_str::<ErrorBody>(body).unwrap().error.code
}

/// `DELETE /v1/sessions/ses_nope`: 404 once signed in (no such session),
/// so the status says whether authentication passed.
fn probe(extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::delete("/v1/sessions/ses_nope");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_cookie_alone_changes_nothing_unless_the_request_comes_from_our_origin() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let cookie = format!("ward_session={}", clinic.token);
    let bearer = format!("Bearer {}", clinic.token);
    let ours = "http://localhost:8080";

    for (case, headers) in [
        ("no Origin", vec![]),
        ("another site", vec![("origin", "https://evil.example")]),
        ("another port", vec![("origin", "http://localhost:9999")]),
        (
            "a look-alike",
            vec![("origin", "http://localhost:8080.evil.example")],
        ),
        ("an opaque origin", vec![("origin", "null")]),
        (
            "same site, not same origin",
            vec![("origin", ours), ("sec-fetch-site", "same-site")],
        ),
        (
            "cross-site fetch",
            vec![("origin", ours), ("sec-fetch-site", "cross-site")],
        ),
    ] {
        let mut all = vec![("cookie", cookie.as_str())];
        all.extend(headers);
        let (status, _, body) = call(&relay, probe(&all)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
        assert_eq!(error_code(&body), ErrorCode::CrossOriginRequest, "{case}");
        assert!(body.contains("http://localhost:8080"), "{case}: {body}");
    }

    // From our own page: accepted, with or without Sec-Fetch-Site.
    for headers in [
        vec![("origin", ours)],
        vec![("origin", ours), ("sec-fetch-site", "same-origin")],
    ] {
        let mut all = vec![("cookie", cookie.as_str())];
        all.extend(headers);
        let (status, _, body) = call(&relay, probe(&all)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }

    // Reading with the cookie needs no Origin.
    let (status, _, body) = call(
        &relay,
        Request::get("/v1/sessions")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A bearer token is not affected, whatever the Origin.
    for headers in [vec![], vec![("origin", "https://evil.example")]] {
        let mut all = vec![("authorization", bearer.as_str())];
        all.extend(headers);
        let (status, _, body) = call(&relay, probe(&all)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }

    // Logging out with the cookie from our page works and clears it.
    let (status, headers, body) = call(
        &relay,
        Request::post("/v1/auth/logout")
            .header("cookie", &cookie)
            .header("origin", ours)
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with("ward_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

/// The clinic's setup sign-in (with `Ward-Frame: 1` when `framed`): its
/// response's headers and the session's token.
async fn set_up(relay: &Relay, framed: bool) -> (reqwest::header::HeaderMap, String) {
    let mut request = relay
        .http
        .post(format!("{}/v1/clinic/setup", relay.url))
        .json(&serde_json::json!({"setup_code": relay.setup_code(), "display_name": "Clinic"}));
    if framed {
        request = request.header("ward-frame", "1");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let token = response
        .json::<ward_proto::auth::SessionCreated>()
        .await
        .unwrap()
        .token;
    (headers, token)
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_secure_and_hsts_is_sent() {
    // Behind a TLS proxy: the relay itself speaks HTTP.
    let relay = Relay::start_with(|config| {
        config.public_origin = "https://ward.example".into();
    })
    .await;
    let (headers, token) = set_up(&relay, false).await;
    let hsts = headers[header::STRICT_TRANSPORT_SECURITY].to_str().unwrap();
    assert!(hsts.contains("max-age="), "{hsts}");
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("__Host-ward_session={token};")),
        "{set_cookie}"
    );
    for attribute in ["; Secure", "; Path=/;", "; HttpOnly", "; SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain"),
        "{set_cookie}"
    );

    // The unprefixed name is not accepted there; the prefixed one is.
    let (status, _, _) = call(
        &relay,
        Request::get("/v1/sessions")
            .header("cookie", format!("ward_session={token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let cookie = format!("__Host-ward_session={token}");
    let (status, _, body) = call(
        &relay,
        probe(&[
            ("cookie", cookie.as_str()),
            ("origin", "https://ward.example"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, headers, _) = call(
        &relay,
        Request::post("/v1/auth/logout")
            .header("cookie", &cookie)
            .header("origin", "https://ward.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-ward_session=;") && cleared.contains("; Secure"),
        "{cleared}"
    );
}

#[tokio::test]
async fn inside_another_sites_frame_the_cookie_is_partitioned_and_cleared_so() {
    let relay = Relay::start_with(|config| {
        config.public_origin = "https://ward.example".into();
    })
    .await;
    // Ward's client in a frame says so on every request (`Ward-Frame: 1`).
    let (headers, token) = set_up(&relay, true).await;
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("__Host-ward_session={token};")),
        "{set_cookie}"
    );
    for attribute in [
        "; Secure",
        "; Path=/;",
        "; HttpOnly",
        "; SameSite=None; Partitioned",
    ] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(!set_cookie.contains("Strict"), "{set_cookie}");

    // The browser sends that cookie with the clinic page's own requests to
    // Ward too: one the browser says another site started is refused, even
    // a read; Ward's frame's own is taken.
    let (status, _, _) = call(
        &relay,
        Request::get("/v1/sessions")
            .header("cookie", format!("__Host-ward_session={token}"))
            .header("sec-fetch-site", "cross-site")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(
        &relay,
        Request::get("/v1/sessions")
            .header("cookie", format!("__Host-ward_session={token}"))
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The cookie alone still changes nothing without Ward's own origin
    // (the frame's requests carry it; the clinic's page's would not).
    let cookie = format!("__Host-ward_session={token}");
    let (status, _, _) = call(
        &relay,
        Request::post("/v1/auth/logout")
            .header("cookie", &cookie)
            .header("ward-frame", "1")
            .header("origin", "https://clinic.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Signing out in the frame deletes the partitioned cookie (only a
    // partitioned Set-Cookie can).
    let (status, headers, _) = call(
        &relay,
        Request::post("/v1/auth/logout")
            .header("cookie", &cookie)
            .header("ward-frame", "1")
            .header("origin", "https://ward.example")
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-ward_session=;")
            && cleared.contains("; SameSite=None; Partitioned")
            && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // Over plain HTTP (development) browsers refuse SameSite=None without
    // Secure: a framed sign-in keeps the Strict cookie.
    let plain = Relay::start().await;
    let (headers, _) = set_up(&plain, true).await;
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with("ward_session=") && set_cookie.contains("; SameSite=Strict"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn every_response_says_cross_origin_opener_and_resource_policy() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<html></html>").unwrap();
    std::fs::write(site.path().join("app.js"), "1").unwrap();
    let dir = site.path().to_path_buf();
    let relay = Relay::start_with(move |config| config.static_dir = Some(dir)).await;
    for path in [
        "/healthz",
        "/v1/clinic",
        "/v1/threads",
        "/v1/no-such-route",
        "/",
        "/app.js",
        "/threads/42",
    ] {
        let (_, headers, _) = call(&relay, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(
            headers
                .get("cross-origin-opener-policy")
                .map(|v| v.to_str().unwrap()),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            headers
                .get("cross-origin-resource-policy")
                .map(|v| v.to_str().unwrap()),
            Some("same-origin"),
            "{path}"
        );
    }
    // The passkey window Ward in a clinic's frame opens keeps its opener
    // (that frame): `same-origin` would cut it off. Only that page, and
    // only its exact path.
    let (status, headers, _) = call(
        &relay,
        Request::get("/passkey-window").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cross-origin-opener-policy"], "unsafe-none");
    assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    for path in ["/passkey-window/x", "/passkey-windows"] {
        let (_, headers, _) = call(&relay, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(
            headers["cross-origin-opener-policy"], "same-origin",
            "{path}"
        );
    }
}

/// Opens `/v1/events` with `origin` and `cookie` (either may be absent);
/// the handshake's status on refusal.
async fn open(
    relay: &Relay,
    origin: Option<&str>,
    cookie: Option<&str>,
) -> Result<events::Socket, StatusCode> {
    let url = relay.url.replace("http://", "ws://") + "/v1/events";
    let mut request = url.into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("{other}"),
    }
}

async fn send_token(socket: &mut events::Socket, token: &str) {
    let auth = serde_json::to_string(&EventsAuth {
        token: token.to_owned(),
    })
    .unwrap();
    socket.send(Message::Text(auth.into())).await.unwrap();
}

#[tokio::test]
async fn the_websocket_takes_only_our_exact_origin() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    for refused in [
        "http://localhost:9999",
        "https://localhost:8080",
        "http://localhost:8080.evil.example",
        "https://evil.example",
        "null",
    ] {
        assert_eq!(
            open(&relay, Some(refused), None).await.err(),
            Some(StatusCode::FORBIDDEN),
            "{refused}"
        );
    }
    // Ours, and none (a client that is not a browser), with a first frame.
    for origin in [Some("http://localhost:8080"), None] {
        let mut socket = open(&relay, origin, None).await.unwrap();
        send_token(&mut socket, &clinic.token).await;
        assert_eq!(
            events::next(&mut socket).await,
            Event::Ready {
                account_id: clinic.id.clone()
            }
        );
    }
}

#[tokio::test]
async fn on_the_websocket_the_first_frame_token_wins_and_a_cookie_alone_is_not_enough() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let clinic_cookie = format!("ward_session={}", clinic.token);

    let mut socket = open(&relay, Some("http://localhost:8080"), Some(&clinic_cookie))
        .await
        .unwrap();
    send_token(&mut socket, &patient.token).await;
    assert_eq!(
        events::next(&mut socket).await,
        Event::Ready {
            account_id: patient.id.clone()
        }
    );

    // The cookie and a first frame that is not a token: closed, no Ready.
    let mut socket = open(&relay, Some("http://localhost:8080"), Some(&clinic_cookie))
        .await
        .unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s")
        {
            None | Some(Err(_) | Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(text))) => panic!("the cookie alone got {text}"),
            Some(Ok(_)) => {}
        }
    }
}

#[test]
fn a_frame_ancestor_that_is_not_an_exact_origin_stops_the_relay_at_start() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("ward.toml");
    for bad in [
        "https://*.clinic.example",
        "http://localhost.evil.example",
        "https://clinic.example/portal",
    ] {
        std::fs::write(&config, format!("frame_ancestors = [\"{bad}\"]\n")).unwrap();
        let mut relay = std::process::Command::new(env!("CARGO_BIN_EXE_ward-relay"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(data.path())
            .env_remove("WARD_CONFIG")
            .env_remove("WARD_LISTEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // It must stop by itself; a relay that starts is killed and fails.
        let mut stopped = false;
        for _ in 0..200 {
            if relay.try_wait().unwrap().is_some() {
                stopped = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !stopped {
            relay.kill().unwrap();
        }
        let output = relay.wait_with_output().unwrap();
        assert!(stopped, "{bad} was accepted: the relay started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("frame_ancestors entry \"{bad}\""))
                && stderr.contains("exactly as its origin"),
            "{bad}: {stderr}"
        );
    }
}
