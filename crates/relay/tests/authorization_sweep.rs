//! Every secured route in the OpenAPI document, called with a second
//! patient's session against the first patient's resources: no read or write
//! succeeds, and nothing of the first patient's appears in any answer.
//! Driven by the document, so a new route is swept without editing this.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{NONE, Relay};
use url::Url;
use ward_proto::Bytes;
use ward_proto::auth::{SessionList, TotpEnrollment, TotpStatus};
use ward_proto::blobs::{
    BlobFinalized, BlobInfo, CreateUploadRequest, UploadCreated, UploadStatus,
};
use ward_proto::passkeys::{FinishRegistration, PasskeyInfo, PasskeyList, RegistrationStarted};
use ward_proto::threads::{Category, PostMessageRequest, Thread};
use ward_seal::envelope::{self, Header};
use ward_seal::payload::Payload;
use ward_seal::random::os_rng;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

#[tokio::test]
async fn a_second_patient_can_touch_nothing_of_the_first() {
    // Push subscriptions only on a local port nothing answers.
    let relay = Relay::start_with(|config| {
        config.push_services = vec!["http://127.0.0.1:9".into()];
    })
    .await;
    let clinic = relay.clinic().await;
    let alice = relay.patient(&clinic, "alice@example.com").await;
    let mallory = relay.patient(&clinic, "mallory@example.com").await;
    let a = Some(alice.token.as_str());

    // Alice's resources: a thread with keys and a message, a passkey, a
    // session, an authenticator app being set up.
    let (thread, key) = relay
        .thread_with_key(&alice, clinic.keys.bundle(), Category::Question)
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    // Alice's device is subscribed to Web Push.
    let alice_push = json!({
        "endpoint": "http://127.0.0.1:9/push/alice-device",
        "expirationTime": null,
        "keys": {
            "p256dh": "BLn9b-VR0ca83knDNZ32dCHGyjJp-1riX9ZTN40MqV8K_LpQmLqxC_DoHvqvFXO_nGdAB4W9dogZb_sM-uV4JbY",
            "auth": "_ordMnz7uTCmrpBTeUV4Bw"
        }
    });
    let response = relay
        .call(Method::PUT, "/v1/push/subscription", a, Some(&alice_push))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // An unfinished upload of Alice's, and a blob attached to her message.
    let mut upload_ids = Vec::new();
    for _ in 0..2 {
        let created: UploadCreated = relay
            .expect(
                Method::POST,
                "/v1/uploads",
                a,
                Some(&CreateUploadRequest {
                    size: 40,
                    part_count: 1,
                }),
                StatusCode::CREATED,
            )
            .await;
        let response = relay
            .http
            .put(format!(
                "{}/v1/uploads/{}/parts/0",
                relay.url, created.upload_id
            ))
            .bearer_auth(&alice.token)
            .body(vec![7u8; 40])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        upload_ids.push(created.upload_id);
    }
    let (upload_id, blob_id) = (upload_ids[0].clone(), upload_ids[1].clone());
    let _: BlobFinalized = relay
        .expect(
            Method::POST,
            &format!("/v1/uploads/{blob_id}/finalize"),
            a,
            NONE,
            StatusCode::OK,
        )
        .await;
    let header = Header {
        thread_id: thread.thread_id.clone(),
        epoch: 0,
        message_id: "secret-message-id".into(),
        sender_id: alice.id.clone(),
        sent_at_ms: 1,
    };
    let envelope_bytes = envelope::seal(
        &alice.keys,
        &key,
        header,
        &Payload::text("private"),
        &mut os_rng(),
    )
    .unwrap()
    .to_bytes();
    relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            a,
            Some(&PostMessageRequest {
                envelope: Bytes(envelope_bytes.clone()),
                attachments: vec![blob_id.clone()],
            }),
        )
        .await;
    let started: RegistrationStarted = relay
        .expect(
            Method::POST,
            "/v1/passkeys/register/start",
            a,
            NONE,
            StatusCode::OK,
        )
        .await;
    let credential = SoftPasskey::new(true)
        .do_registration(
            Url::parse("http://localhost:8080").unwrap(),
            started.options,
        )
        .unwrap();
    let passkey: PasskeyInfo = relay
        .expect(
            Method::POST,
            "/v1/passkeys/register/finish",
            a,
            Some(&FinishRegistration {
                ceremony_id: started.ceremony_id,
                credential,
                label: "Alice's phone".into(),
            }),
            StatusCode::CREATED,
        )
        .await;
    let sessions: SessionList = relay
        .expect(Method::GET, "/v1/sessions", a, NONE, StatusCode::OK)
        .await;
    let session_id = sessions.sessions[0].session_id.clone();
    let _: TotpEnrollment = relay
        .expect(Method::POST, "/v1/totp/enroll", a, NONE, StatusCode::OK)
        .await;
    let alice_totp = TotpStatus {
        enabled: false,
        pending: true,
    };
    // Mallory's own status, not Alice's (the sweep below only sees text).
    let mallory_totp: TotpStatus = relay
        .expect(
            Method::GET,
            "/v1/totp",
            Some(&mallory.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        mallory_totp,
        TotpStatus {
            enabled: false,
            pending: false
        }
    );

    // What must never appear in Mallory's answers.
    let alice_marks = [
        thread.thread_id.clone(),
        alice.id.clone(),
        passkey.passkey_id.clone(),
        session_id.clone(),
        "secret-message-id".to_owned(),
        "Alice's phone".to_owned(),
        upload_id.clone(),
        blob_id.clone(),
    ];
    // Plausible bodies, so a refusal is about who asks, not what was sent.
    let terms: ward_proto::account::ConsentText = relay.get_ok("/v1/caregivers/consent", a).await;
    let bodies: Vec<(&str, Value)> = vec![
        (
            "/assent",
            json!({"version": terms.version, "sha256": terms.sha256}),
        ),
        (
            "/messages",
            json!({"envelope": Bytes(envelope_bytes.clone())}),
        ),
        ("/epochs", json!({"epoch": 1, "sealed_keys": []})),
        ("/receipts", json!({"kind": "read", "up_to_seq": 1})),
        ("/legal-hold", json!({"hold": true})),
        ("/birth-date", json!({"birth_date": "2011-05-04"})),
        (
            "/guardians",
            json!({"display_name": "Mallory", "relationship": "parent", "contact": "mallory@example.com"}),
        ),
        (
            "/members",
            json!({"account_id": mallory.id, "sealed_keys": []}),
        ),
        (
            "/remove",
            json!({"next_epoch": {"epoch": 1, "sealed_keys": []}}),
        ),
        // Renaming a passkey (DELETE ignores the body).
        (
            passkey.passkey_id.as_str(),
            json!({"label": "Mallory's now"}),
        ),
        ("/only-me", json!({"only_me": true})),
        // Alice's own sealed envelope as the subject: still not Mallory's.
        (
            "/subject",
            json!({"subject": ward_proto::Bytes(envelope_bytes.clone())}),
        ),
        // Changing a caregiver grant (the GETs ignore the body).
        (alice.id.as_str(), json!({"can_send": true, "months": 18})),
        // Mallory subscribing her own device (GET and DELETE ignore the
        // body): Alice's subscription stays Alice's.
        (
            "/push/subscription",
            json!({
                "endpoint": "http://127.0.0.1:9/push/mallory-device",
                "keys": alice_push["keys"].clone(),
            }),
        ),
    ];

    let doc: Value = relay
        .http
        .get(format!("{}/v1/openapi.json", relay.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut swept = 0;
    // Signing out only affects the caller: sweep it last, so Mallory's
    // session stays live for everything else.
    let mut routes: Vec<(&String, &Value)> = doc["paths"].as_object().unwrap().iter().collect();
    routes.sort_by_key(|(template, _)| template.as_str() == "/v1/auth/logout");
    for (template, operations) in routes {
        for (method, operation) in operations.as_object().unwrap() {
            if operation.get("security").is_none() || template == "/v1/events" {
                continue;
            }
            let url = template
                .replace("{thread_id}", &thread.thread_id)
                .replace("{account_id}", &alice.id)
                .replace("{passkey_id}", &passkey.passkey_id)
                .replace("{session_id}", &session_id)
                .replace("{upload_id}", &upload_id)
                .replace("{blob_id}", &blob_id)
                .replace("{index}", "0");
            let body = bodies
                .iter()
                .find(|(suffix, _)| url.ends_with(suffix))
                .map(|(_, body)| body.clone());
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let targets_alice = url != *template;
            let response = relay
                .call(method.clone(), &url, Some(&mallory.token), body.as_ref())
                .await;
            let status = response.status();
            let text = response.text().await.unwrap();
            if targets_alice {
                assert!(
                    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                    "{method} {url} answered {status} to another patient: {text}"
                );
            }
            for mark in &alice_marks {
                // The upload and blob ids are in the URL asked for, not the answer.
                assert!(
                    !text.contains(mark.as_str()),
                    "{method} {url} leaked {mark}: {text}"
                );
            }
            swept += 1;
        }
    }
    // 45 secured operations today (the key history, the account history,
    // the caregiver grants and Web Push among them); fewer means the
    // document lost routes.
    assert!(swept >= 45, "only {swept} routes swept");

    // And Alice's things are all still there.
    let still: Thread = relay
        .expect(Method::GET, &path, a, NONE, StatusCode::OK)
        .await;
    assert!(still.members.iter().any(|m| m.account_id == alice.id));
    let sessions: SessionList = relay
        .expect(Method::GET, "/v1/sessions", a, NONE, StatusCode::OK)
        .await;
    assert!(sessions.sessions.iter().any(|s| s.session_id == session_id));
    let passkeys: PasskeyList = relay
        .expect(Method::GET, "/v1/passkeys", a, NONE, StatusCode::OK)
        .await;
    assert_eq!(passkeys.passkeys, [passkey]);
    // Mallory's subscription, unsubscription and test touched Alice's not.
    let push: ward_proto::push::PushStatus = relay
        .expect(
            Method::GET,
            "/v1/push/subscription",
            a,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(push.subscribed);
    // Mallory's own enroll and DELETE /v1/totp left Alice's enrollment alone.
    let totp: TotpStatus = relay
        .expect(Method::GET, "/v1/totp", a, NONE, StatusCode::OK)
        .await;
    assert_eq!(totp, alice_totp);
    // Her upload and her blob too, untouched.
    let status: UploadStatus = relay
        .expect(
            Method::GET,
            &format!("/v1/uploads/{upload_id}"),
            a,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!((status.received, status.finalized), (vec![0], false));
    let blob: BlobInfo = relay
        .expect(
            Method::GET,
            &format!("/v1/blobs/{blob_id}"),
            a,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(blob.part_sizes, [40]);
}
