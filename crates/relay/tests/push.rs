//! Web Push end to end (issue 18, docs/push.md): a real relay over HTTP
//! pushing to a push-service stand-in in this test, which accepts RFC 8030
//! requests, checks the VAPID token (RFC 8292) and decrypts the body
//! (RFC 8291) with the subscription's private key, as a browser would.
//! Runs on SQLite, and on PostgreSQL under `WARD_TEST_POSTGRES`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes as BodyBytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay, events};
use ward_proto::ErrorCode;
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::push::{PushKey, PushStatus, PushSubscription, PushSubscriptionKeys};
use web_push_native::jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ES256PublicKey, NoCustomClaims, VerificationOptions,
};
use web_push_native::p256::SecretKey;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

/// How the stand-in answers one push.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16, Option<u64>),
    Slow(Duration),
}

/// One push the stand-in accepted and decrypted.
#[derive(Debug, Clone)]
struct Received {
    subscription: String,
    ttl: u64,
    urgency: String,
    topic: String,
    plaintext: Vec<u8>,
}

#[derive(Default)]
struct Service {
    origin: String,
    /// The relay's VAPID public key, from `GET /v1/push/key`.
    vapid_key: Mutex<String>,
    /// The browsers' private halves, by subscription id.
    browsers: Mutex<HashMap<String, (SecretKey, [u8; 16])>>,
    received: Mutex<Vec<Received>>,
    /// Requests that broke a rule, as sentences.
    faults: Mutex<Vec<String>>,
    script: Mutex<VecDeque<Answer>>,
    always: Mutex<Option<Answer>>,
    requests: Mutex<usize>,
}

/// The push-service stand-in: `POST /push/{id}`.
struct StandIn(Arc<Service>);

impl StandIn {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let service = Arc::new(Service {
            origin,
            ..Service::default()
        });
        let app = axum::Router::new()
            .route("/push/{id}", axum::routing::post(accept))
            .with_state(service.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self(service)
    }

    fn origin(&self) -> String {
        self.0.origin.clone()
    }

    /// A browser's new subscription on this service: its JSON for the relay.
    fn subscribe(&self, id: &str) -> PushSubscription {
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        self.0
            .browsers
            .lock()
            .unwrap()
            .insert(id.to_owned(), (secret, auth));
        PushSubscription {
            endpoint: format!("{}/push/{id}", self.0.origin),
            expiration_time: None,
            keys: PushSubscriptionKeys {
                p256dh: URL_SAFE_NO_PAD.encode(point.as_bytes()),
                auth: URL_SAFE_NO_PAD.encode(auth),
            },
        }
    }

    fn received(&self) -> Vec<Received> {
        self.0.received.lock().unwrap().clone()
    }

    fn requests(&self) -> usize {
        *self.0.requests.lock().unwrap()
    }

    /// Waits (up to 8 s) for push number `n` (from 1).
    async fn nth(&self, n: usize) -> Received {
        for _ in 0..160 {
            if let Some(push) = self.received().get(n - 1) {
                return push.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no push number {n}; faults: {:?}", self.faults());
    }

    fn faults(&self) -> Vec<String> {
        self.0.faults.lock().unwrap().clone()
    }

    fn answer_next(&self, answers: &[Answer]) {
        self.0
            .script
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
    }

    fn answer_always(&self, answer: Answer) {
        *self.0.always.lock().unwrap() = Some(answer);
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the request as a push service would, decrypts it, records it,
/// then answers as scripted (201 by default).
async fn accept(
    State(service): State<Arc<Service>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: BodyBytes,
) -> axum::response::Response {
    *service.requests.lock().unwrap() += 1;
    let fault = |why: String| {
        service.faults.lock().unwrap().push(why);
        AxumStatus::BAD_REQUEST.into_response()
    };
    let Some(authorization) = header(&headers, "authorization") else {
        return fault("no Authorization".into());
    };
    let Some((t, k)) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
    else {
        return fault(format!("not a vapid header: {authorization}"));
    };
    if k != *service.vapid_key.lock().unwrap() {
        return fault("k is not the relay's public key".into());
    }
    let public = ES256PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(k).unwrap()).unwrap();
    let options = VerificationOptions {
        allowed_audiences: Some([service.origin.clone()].into_iter().collect()),
        ..VerificationOptions::default()
    };
    let claims = match public.verify_token::<NoCustomClaims>(t, Some(options)) {
        Ok(claims) => claims,
        Err(error) => return fault(format!("VAPID token refused: {error}")),
    };
    let now = support::unix_now();
    let exp = claims.expires_at.map_or(0, |e| e.as_secs());
    if exp <= now || exp > now + 24 * 3600 {
        return fault(format!("exp {exp} not within 24 h of {now}"));
    }
    if claims.subject.as_deref().is_none_or(str::is_empty) {
        return fault("no sub".into());
    }
    let (Some(ttl), Some(urgency), Some(topic)) = (
        header(&headers, "ttl").and_then(|v| v.parse::<u64>().ok()),
        header(&headers, "urgency"),
        header(&headers, "topic"),
    ) else {
        return fault("TTL, Urgency or Topic missing".into());
    };
    if header(&headers, "content-encoding") != Some("aes128gcm") {
        return fault("Content-Encoding is not aes128gcm".into());
    }
    let Some((secret, auth)) = service.browsers.lock().unwrap().get(&id).cloned() else {
        return AxumStatus::NOT_FOUND.into_response();
    };
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let plaintext = match web_push_native::decrypt(body.to_vec(), &secret, &auth) {
        Ok(plaintext) => plaintext,
        Err(error) => return fault(format!("body does not decrypt: {error}")),
    };
    let scripted = service.script.lock().unwrap().pop_front();
    let answer = scripted
        .or(*service.always.lock().unwrap())
        .unwrap_or(Answer::Status(201, None));
    let status = match answer {
        Answer::Slow(wait) => {
            tokio::time::sleep(wait).await;
            201
        }
        Answer::Status(status, _) => status,
    };
    if (200..300).contains(&status) {
        service.received.lock().unwrap().push(Received {
            subscription: id,
            ttl,
            urgency: urgency.to_owned(),
            topic: topic.to_owned(),
            plaintext,
        });
    }
    let mut response = AxumStatus::from_u16(status).unwrap().into_response();
    if let Answer::Status(_, Some(seconds)) = answer {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().unwrap());
    }
    response
}

/// A relay that may push to `service`, which learns its VAPID key.
async fn relay_for(service: &StandIn) -> Relay {
    let origin = service.origin();
    let relay = Relay::start_with(|config| config.push_services = vec![origin]).await;
    let key: PushKey = relay.get_ok("/v1/push/key", None).await;
    assert_eq!(URL_SAFE_NO_PAD.decode(&key.public_key).unwrap().len(), 65);
    *service.0.vapid_key.lock().unwrap() = key.public_key;
    relay
}

async fn subscribe(relay: &Relay, account: &Account, subscription: &PushSubscription) {
    let response = relay
        .call(
            Method::PUT,
            "/v1/push/subscription",
            Some(&account.token),
            Some(subscription),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn subscribed(relay: &Relay, token: &str) -> bool {
    let status: PushStatus = relay.get_ok("/v1/push/subscription", Some(token)).await;
    status.subscribed
}

/// The decrypted notice: exactly 256 bytes, JSON then spaces.
fn notice(push: &Received) -> String {
    assert_eq!(
        push.plaintext.len(),
        256,
        "every push body is padded to 256 bytes"
    );
    let text = String::from_utf8(push.plaintext.clone()).unwrap();
    let json = text.trim_end_matches(' ').to_owned();
    assert!(text[json.len()..].bytes().all(|b| b == b' '));
    for secret in [
        "Sam",
        "Riverside",
        "Clinic",
        "acc_",
        "hello",
        "rash",
        "Question",
    ] {
        assert!(!text.contains(secret), "{secret:?} in a push: {text}");
    }
    json
}

async fn read_receipt(relay: &Relay, reader: &Account, thread_id: &str, up_to: u64) {
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{thread_id}/receipts"),
            Some(&reader.token),
            Some(&ReceiptRequest {
                kind: ReceiptKind::Read,
                up_to_seq: up_to,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_offline_patient_is_pushed_and_a_live_one_is_not() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let id = &thread.thread_id;
    assert!(!subscribed(&relay, &patient.token).await);
    subscribe(&relay, &patient, &service.subscribe("sam-phone")).await;
    assert!(subscribed(&relay, &patient.token).await);

    // Offline: pushed, with the thread and the unread count only.
    relay
        .send_ok(&clinic, &key, id, 0, "m1", "hello about the rash")
        .await;
    let first = service.nth(1).await;
    assert_eq!(first.subscription, "sam-phone");
    assert_eq!(
        notice(&first),
        format!(r#"{{"v":1,"kind":"message","thread":"{id}","unread":1}}"#)
    );
    assert_eq!((first.ttl, first.urgency.as_str()), (172_800, "high"));
    assert!(first.topic.len() <= 32 && !first.topic.contains(&patient.id));

    // Live: its socket hears it; no push.
    let mut socket = events::connect(&relay, &patient.id, &patient.token).await;
    relay
        .send_ok(&clinic, &key, id, 0, "m2", "hello again")
        .await;
    events::next(&mut socket).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        service.received().len(),
        1,
        "no push while the socket is open"
    );

    // Closed again: pushed, under the same topic (they collapse).
    drop(socket);
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.send_ok(&clinic, &key, id, 0, "m3", "and again").await;
    let third = service.nth(2).await;
    assert_eq!(
        notice(&third),
        format!(r#"{{"v":1,"kind":"message","thread":"{id}","unread":3}}"#)
    );
    assert_eq!(third.topic, first.topic, "messages collapse with messages");

    // The clinic reads the patient's message: a receipt push, low urgency,
    // under a topic of its own (never replacing a new-message alert).
    relay.send_ok(&patient, &key, id, 0, "p1", "thanks").await;
    read_receipt(&relay, &clinic, id, 4).await;
    let receipt = service.nth(3).await;
    assert_eq!(
        notice(&receipt),
        format!(r#"{{"v":1,"kind":"receipt","thread":"{id}","unread":3}}"#)
    );
    assert_eq!((receipt.ttl, receipt.urgency.as_str()), (86_400, "low"));
    assert_ne!(receipt.topic, first.topic);
    assert!(service.faults().is_empty(), "{:?}", service.faults());
    let metrics = relay.metrics().await;
    assert!(metrics.contains("ward_push_sent_total 3"), "{metrics}");
}

#[tokio::test]
async fn a_gone_subscription_is_removed() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    subscribe(&relay, &patient, &service.subscribe("old-phone")).await;
    service.answer_next(&[Answer::Status(410, None)]);
    relay
        .send_ok(&clinic, &key, &thread.thread_id, 0, "m1", "hello")
        .await;
    for _ in 0..100 {
        if !subscribed(&relay, &patient.token).await {
            assert!(
                relay
                    .metrics()
                    .await
                    .contains("ward_push_subscriptions_removed_total 1")
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a 410 did not remove the subscription");
}

#[tokio::test]
async fn too_many_requests_is_retried_after_its_retry_after() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    subscribe(&relay, &patient, &service.subscribe("busy")).await;
    service.answer_next(&[Answer::Status(429, Some(1))]);
    let sent = Instant::now();
    relay
        .send_ok(&clinic, &key, &thread.thread_id, 0, "m1", "hello")
        .await;
    let push = service.nth(1).await;
    assert!(
        sent.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(service.requests(), 2, "one refusal, one retry");
    assert!(notice(&push).contains(r#""kind":"message""#));
    assert!(subscribed(&relay, &patient.token).await);
}

#[tokio::test]
async fn a_service_that_keeps_failing_is_given_up_on_after_three_attempts() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    subscribe(&relay, &patient, &service.subscribe("down")).await;
    service.answer_always(Answer::Status(503, Some(1)));
    relay
        .send_ok(&clinic, &key, &thread.thread_id, 0, "m1", "hello")
        .await;
    for _ in 0..100 {
        if relay.metrics().await.contains("ward_push_failed_total 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(relay.metrics().await.contains("ward_push_failed_total 1"));
    assert_eq!(service.requests(), 3, "three attempts, then dropped");
    assert!(service.received().is_empty());
    assert!(subscribed(&relay, &patient.token).await, "a 503 keeps it");
}

#[tokio::test]
async fn a_slow_push_service_does_not_slow_sends() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    subscribe(&relay, &patient, &service.subscribe("slow")).await;
    service.answer_always(Answer::Slow(Duration::from_secs(10)));
    for n in 0..5 {
        let started = Instant::now();
        relay
            .send_ok(&clinic, &key, &thread.thread_id, 0, &format!("m{n}"), "hi")
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "send {n} took {:?}",
            started.elapsed()
        );
        if n == 0 {
            // The first push is in flight (and hanging) before the others.
            for _ in 0..100 {
                if service.requests() > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(service.requests(), 1);
        }
    }
}

#[tokio::test]
async fn signing_out_or_removing_the_device_deletes_its_subscription() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, _thread, _key) = relay.conversation().await;
    subscribe(&relay, &patient, &service.subscribe("sam")).await;
    let count = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM push_subscriptions")
            .fetch_one(&relay.db().await)
            .await
            .unwrap();
        n
    };
    assert_eq!(count().await, 1);
    let response = relay
        .call(Method::POST, "/v1/auth/logout", Some(&patient.token), NONE)
        .await;
    assert!(response.status().is_success());
    assert_eq!(count().await, 0, "signing out deletes it");

    // The clinic's second device subscribes; the first removes it.
    let second: ward_proto::auth::SessionCreated =
        relay.key_login(&clinic.keys).await.json().await.unwrap();
    let second = Account::from_session(second);
    subscribe(&relay, &second, &service.subscribe("clinic-2")).await;
    // The same browser again on the first device's session: it moves.
    subscribe(&relay, &clinic, &service.subscribe("clinic-1")).await;
    assert_eq!(count().await, 2);
    let list: ward_proto::auth::SessionList =
        relay.get_ok("/v1/sessions", Some(&clinic.token)).await;
    let other = list.sessions.iter().find(|s| !s.current).unwrap();
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{}", other.session_id),
            Some(&clinic.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        count().await,
        1,
        "removing the device deletes its subscription"
    );
    assert!(subscribed(&relay, &clinic.token).await);
    let response = relay
        .call(
            Method::DELETE,
            "/v1/push/subscription",
            Some(&clinic.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let again = relay
        .call(
            Method::DELETE,
            "/v1/push/subscription",
            Some(&clinic.token),
            NONE,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT, "idempotent");
    assert_eq!(count().await, 0);
}

#[tokio::test]
async fn one_endpoint_is_one_subscription() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, _patient, _thread, _key) = relay.conversation().await;
    let browser = service.subscribe("shared");
    subscribe(&relay, &clinic, &browser).await;
    let second: ward_proto::auth::SessionCreated =
        relay.key_login(&clinic.keys).await.json().await.unwrap();
    subscribe(&relay, &Account::from_session(second.clone()), &browser).await;
    assert!(
        !subscribed(&relay, &clinic.token).await,
        "moved to the newer session"
    );
    assert!(subscribed(&relay, &second.token).await);
}

#[tokio::test]
async fn the_test_notification_is_sent_and_spaced() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (_clinic, patient, _thread, _key) = relay.conversation().await;
    relay
        .expect_error(
            Method::POST,
            "/v1/push/test",
            Some(&patient.token),
            NONE,
            StatusCode::CONFLICT,
            ErrorCode::NoPushSubscription,
        )
        .await;
    subscribe(&relay, &patient, &service.subscribe("sam")).await;
    let response = relay
        .call(Method::POST, "/v1/push/test", Some(&patient.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let push = service.nth(1).await;
    assert_eq!(notice(&push), r#"{"v":1,"kind":"test"}"#);
    assert_eq!((push.ttl, push.urgency.as_str()), (60, "high"));
    let response = relay
        .call(Method::POST, "/v1/push/test", Some(&patient.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&wait));
    assert_eq!(
        support::error_code(response).await,
        ErrorCode::TooManyTestPushes
    );
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_a_reason() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (_clinic, patient, _thread, _key) = relay.conversation().await;
    let good = service.subscribe("sam");
    let cases: Vec<(PushSubscription, &str)> = vec![
        (
            PushSubscription {
                endpoint: "https://push.evil.example/x".into(),
                ..good.clone()
            },
            "push service (https://push.evil.example) is not one",
        ),
        (
            PushSubscription {
                endpoint: "http://169.254.169.254/latest/meta-data".into(),
                ..good.clone()
            },
            "is not one this relay sends",
        ),
        (
            PushSubscription {
                endpoint: "not a url".into(),
                ..good.clone()
            },
            "not an absolute",
        ),
        (
            PushSubscription {
                endpoint: format!("{}/push/{}", service.origin(), "a".repeat(2048)),
                ..good.clone()
            },
            "longer than 2048",
        ),
        (
            PushSubscription {
                keys: PushSubscriptionKeys {
                    p256dh: URL_SAFE_NO_PAD.encode([4u8; 65]),
                    ..good.keys.clone()
                },
                ..good.clone()
            },
            "p256dh",
        ),
        (
            PushSubscription {
                keys: PushSubscriptionKeys {
                    auth: URL_SAFE_NO_PAD.encode([1u8; 8]),
                    ..good.keys.clone()
                },
                ..good.clone()
            },
            "keys.auth",
        ),
    ];
    for (subscription, says) in cases {
        let error = relay
            .expect_error(
                Method::PUT,
                "/v1/push/subscription",
                Some(&patient.token),
                Some(&subscription),
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidPushSubscription,
            )
            .await;
        assert!(
            error.error.message.contains(says),
            "{}",
            error.error.message
        );
        assert!(
            !error.error.message.contains("/push/"),
            "no endpoint echoed"
        );
    }
    // The browser's own JSON, expirationTime as a number, is fine.
    let mut json = serde_json::to_value(&good).unwrap();
    json["expirationTime"] = serde_json::json!(1_767_225_600_000_u64);
    let response = relay
        .call(
            Method::PUT,
            "/v1/push/subscription",
            Some(&patient.token),
            Some(&json),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // A key left out is a field error.
    let response = relay
        .call(
            Method::PUT,
            "/v1/push/subscription",
            Some(&patient.token),
            Some(&serde_json::json!({"endpoint": good.endpoint, "keys": {"p256dh": "x"}})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // No session, no subscription.
    relay
        .expect_not_signed_in("/v1/push/subscription", None)
        .await;
}

#[tokio::test]
async fn a_locked_device_keeps_its_subscription_and_only_the_care_teams_read_is_pushed() {
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let id = &thread.thread_id;
    subscribe(&relay, &patient, &service.subscribe("sam-phone")).await;
    subscribe(&relay, &clinic, &service.subscribe("clinic-desk")).await;

    relay
        .send_ok(&clinic, &key, id, 0, "m1", "hello about the rash")
        .await;
    assert_eq!(service.nth(1).await.subscription, "sam-phone");

    // The patient reading the clinic's message wakes nobody (the clinic's
    // subscription gets nothing); the clinic reading the patient's is
    // pushed to the patient (an_offline_patient_is_pushed_and_a_live_one_is_not).
    read_receipt(&relay, &patient, id, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(service.received().len(), 1, "{:?}", service.received());

    // Ward's lock ends its own session (DELETE /v1/sessions/{own id}): the
    // subscription stays, and the locked device is still told.
    let list: ward_proto::auth::SessionList =
        relay.get_ok("/v1/sessions", Some(&patient.token)).await;
    let own = list.sessions.iter().find(|s| s.current).unwrap();
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{}", own.session_id),
            Some(&patient.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    relay.send_ok(&clinic, &key, id, 0, "m2", "and again").await;
    assert_eq!(service.nth(2).await.subscription, "sam-phone");
    assert!(service.faults().is_empty(), "{:?}", service.faults());
}

#[tokio::test]
async fn a_socket_on_another_relay_holds_the_push() {
    if !support::on_postgres() {
        eprintln!("skipped: two relays need PostgreSQL (WARD_TEST_POSTGRES)");
        return;
    }
    let service = StandIn::start().await;
    let relay = relay_for(&service).await;
    let origin = service.origin();
    let other = relay
        .beside(move |config| config.push_services = vec![origin])
        .await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let id = &thread.thread_id;
    subscribe(&relay, &patient, &service.subscribe("sam-phone")).await;

    // Live on the other relay (`sessions.socket_at`): this one, which
    // stores the message, does not push.
    let socket = events::connect(&other, &patient.id, &patient.token).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.send_ok(&clinic, &key, id, 0, "m1", "hello").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        service.received().is_empty(),
        "no push while a socket is open on another relay"
    );

    // Closed there: the next message is pushed.
    drop(socket);
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.send_ok(&clinic, &key, id, 0, "m2", "again").await;
    service.nth(1).await;
    assert!(service.faults().is_empty(), "{:?}", service.faults());
}
