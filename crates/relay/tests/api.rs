//! The relay's API over real HTTP with a fresh SQLite file: clinic setup,
//! enrollment, sessions, key login, lockout, keys, vault CAS, threads, epoch
//! CAS, idempotent messages, authorization, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode, header};
use serde_json::json;
use support::{NONE, Relay};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::auth::{
    ClinicInfo, EnrollStartRequest, EnrollStarted, EnrollVerifyRequest, InviteCreateRequest,
    InviteCreated, SessionCreated,
};
use ward_proto::keys::BundleResponse;
use ward_proto::threads::{
    Category, CreateThreadRequest, MessagePage, PostMessageRequest, PutEpochRequest, SealedKeys,
    StoredMessage, Thread, ThreadList,
};
use ward_proto::vault::{PutVaultRequest, VaultResponse, VaultStored};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::PublicBundle;
use ward_seal::payload::Payload;
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};

#[tokio::test]
async fn setup_code_is_single_use() {
    let relay = Relay::start().await;
    let code = relay.setup_code();
    relay.clinic().await;
    relay
        .expect_error(
            Method::POST,
            "/v1/clinic/setup",
            None,
            Some(&json!({"setup_code": code, "display_name": "Impostor"})),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
}

#[tokio::test]
async fn the_clinic_agent_signs_in_with_its_key_and_a_forged_signature_fails() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let response = relay.key_login(&clinic.keys).await;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );

    // Another key claiming to be the clinic.
    let impostor = ward_seal::keys::AccountKeys::generate(&clinic.id, 1, &mut os_rng()).unwrap();
    let response = relay.key_login(&impostor).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn enrollment_with_invite_and_code_then_logout_ends_the_session() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let me: ClinicInfo = relay.get_ok("/v1/clinic", Some(&patient.token)).await;
    assert_eq!(me.account_id, clinic.id);

    let response = relay
        .call(Method::POST, "/v1/auth/logout", Some(&patient.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    relay
        .expect_not_signed_in("/v1/clinic", Some(&patient.token))
        .await;
}

#[tokio::test]
async fn clinic_info_carries_the_configured_clinic_texts_and_attachment_limits() {
    let relay = Relay::start_with(|config| {
        config.office_hours = Some("  Monday to Friday, 8 am to 5 pm ".into());
        config.reply_time = "within two business days".into();
        config.emergency_notice = " In an emergency, call 999. ".into();
        config.max_attachment_bytes = 25_000_000;
        config.allowed_attachment_types = vec!["image/jpeg".into(), "application/pdf".into()];
        config.clinic_texts.insert(
            "es".into(),
            ward_relay::config::ClinicTexts {
                office_hours: Some(" De lunes a viernes, de 8 a 17 h ".into()),
                reply_time: None,
                emergency_notice: Some("En una emergencia, llame al 999.".into()),
                ..Default::default()
            },
        );
    })
    .await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let response = relay
        .call(Method::GET, "/v1/clinic", Some(&patient.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "account_id": clinic.id,
            "display_name": "Riverside Clinic",
            "office_hours": "Monday to Friday, 8 am to 5 pm",
            "reply_time": "within two business days",
            "emergency_notice": "In an emergency, call 999.",
            "max_attachment_bytes": 25_000_000,
            "allowed_attachment_types": ["image/jpeg", "application/pdf"],
        })
    );
    // In Spanish: the clinic's Spanish, and its own reply time (it gave no
    // Spanish for it) as written. Any other language: as configured.
    let es: ClinicInfo = relay
        .get_ok("/v1/clinic?lang=es", Some(&patient.token))
        .await;
    assert_eq!(
        es.office_hours.as_deref(),
        Some("De lunes a viernes, de 8 a 17 h")
    );
    assert_eq!(es.reply_time, "within two business days");
    assert_eq!(es.emergency_notice, "En una emergencia, llame al 999.");
    let fr: ClinicInfo = relay
        .get_ok("/v1/clinic?lang=fr", Some(&patient.token))
        .await;
    assert_eq!(fr.emergency_notice, "In an emergency, call 999.");
    let response = relay
        .call(
            Method::GET,
            "/v1/clinic?language=es",
            Some(&patient.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Unconfigured: no office hours (sent as null), the default reply time
    // and emergency notice.
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let info: ClinicInfo = relay.get_ok("/v1/clinic", Some(&clinic.token)).await;
    assert_eq!(info.office_hours, None);
    assert_eq!(info.reply_time, "within one business day");
    assert_eq!(
        info.emergency_notice,
        "If this is an emergency, call 911. For a mental health crisis, call or text 988."
    );
    // The defaults have the relay's own Spanish.
    let es: ClinicInfo = relay
        .get_ok("/v1/clinic?lang=es", Some(&clinic.token))
        .await;
    assert_eq!(es.office_hours, None);
    assert_eq!(es.reply_time, "en un plazo de un día hábil");
    assert_eq!(
        es.emergency_notice,
        "Si es una emergencia, llame al 911. Si tiene una crisis de salud mental, llame o envíe un mensaje de texto al 988."
    );
    assert_eq!(info.max_attachment_bytes, 100_000_000);
    assert_eq!(
        info.allowed_attachment_types,
        [
            "image/jpeg",
            "image/png",
            "image/heic",
            "image/webp",
            "application/pdf"
        ]
    );
    let body: serde_json::Value = relay
        .call(Method::GET, "/v1/clinic", Some(&clinic.token), NONE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body.get("office_hours"),
        Some(&serde_json::Value::Null),
        "{body}"
    );
}

#[tokio::test]
async fn a_used_or_mistyped_invite_is_refused_and_wrong_codes_lock_out() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite: InviteCreated = relay
        .expect(
            Method::POST,
            "/v1/invites",
            Some(&clinic.token),
            Some(&InviteCreateRequest {
                display_name: "Dana".into(),
                contact: "+1 555 123 4321".into(),
            }),
            StatusCode::CREATED,
        )
        .await;
    // An unknown invite says what to do, and does not reveal anything.
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest {
                invite_code: "ZZZZZ-ZZZZZ".into(),
            }),
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
        )
        .await;
    // Typed in lower case with spaces: still the invite.
    let typed = invite.invite_code.to_lowercase().replace('-', " ");
    let started: EnrollStarted = relay
        .expect(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest { invite_code: typed }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(started.contact_hint, "•••• 4321");
    assert_eq!(started.display_name, "Dana");
    let response = relay.send_enrollment_code(&started.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let wrong = EnrollVerifyRequest {
        enrollment_id: started.enrollment_id.clone(),
        code: "000000".into(),
    };
    // Five guesses per code, counted on the enrollment itself: after five
    // wrong codes even the right one is refused, and the person is told to
    // start again for a new code.
    for attempt in 0..5 {
        let response = relay
            .call(Method::POST, "/v1/enroll/verify", None, Some(&wrong))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "attempt {attempt}"
        );
    }
    let right = EnrollVerifyRequest {
        enrollment_id: started.enrollment_id.clone(),
        code: relay.last_code_for("+1 555 123 4321"),
    };
    let error = relay
        .expect_error(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&right),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
    assert!(error.error.message.contains("start again"));
}

#[tokio::test]
async fn vault_writes_are_compare_and_swap() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let token = Some(patient.token.as_str());
    let first: VaultStored = relay
        .expect(
            Method::PUT,
            "/v1/vault",
            token,
            Some(&PutVaultRequest {
                expected_version: 0,
                vault: Bytes(vec![1; 100]),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(first.version, 1);
    // A second device that still thinks there is no vault loses.
    relay
        .expect_error(
            Method::PUT,
            "/v1/vault",
            token,
            Some(&PutVaultRequest {
                expected_version: 0,
                vault: Bytes(vec![2; 100]),
            }),
            StatusCode::CONFLICT,
            ErrorCode::VaultStale,
        )
        .await;
    let second: VaultStored = relay
        .expect(
            Method::PUT,
            "/v1/vault",
            token,
            Some(&PutVaultRequest {
                expected_version: 1,
                vault: Bytes(vec![3; 100]),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(second.version, 2);
    let stored: VaultResponse = relay.get_ok("/v1/vault", token).await;
    assert_eq!((stored.version, stored.vault.0), (2, vec![3; 100]));
}

#[tokio::test]
async fn patient_and_clinic_exchange_an_encrypted_message() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (p, c) = (Some(patient.token.as_str()), Some(clinic.token.as_str()));

    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            p,
            Some(&CreateThreadRequest {
                category: Category::Refill,
            }),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(thread.members.len(), 2);
    assert_eq!(thread.current_epoch, None);

    // The patient fetches the clinic's bundle and seals epoch 0 to both.
    let clinic_bundle: BundleResponse = relay.get_ok(&format!("/v1/keys/{}", clinic.id), p).await;
    let clinic_bundle = PublicBundle::from_bytes(&clinic_bundle.bundle.0).unwrap();
    let key = ThreadKey::generate(&mut os_rng());
    let sealed = thread_key::seal_to_members(
        &key,
        &thread.thread_id,
        0,
        &patient.keys,
        &[patient.keys.bundle().clone(), clinic_bundle],
        &mut os_rng(),
    )
    .unwrap();
    let epoch = PutEpochRequest {
        epoch: 0,
        sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
    };
    let path = format!("/v1/threads/{}", thread.thread_id);
    let response = relay
        .call(Method::POST, &format!("{path}/epochs"), p, Some(&epoch))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Starting epoch 0 again loses the compare-and-swap.
    relay
        .expect_error(
            Method::POST,
            &format!("{path}/epochs"),
            p,
            Some(&epoch),
            StatusCode::CONFLICT,
            ErrorCode::EpochConflict,
        )
        .await;

    // The patient sends; a retry is idempotent; reusing the id is refused.
    let header = Header {
        thread_id: thread.thread_id.clone(),
        epoch: 0,
        message_id: "msg-1".into(),
        sender_id: patient.id.clone(),
        sent_at_ms: 1,
    };
    let text = "Can I refill my inhaler early?";
    let sealed_message = envelope::seal(
        &patient.keys,
        &key,
        header.clone(),
        &Payload::text(text),
        &mut os_rng(),
    )
    .unwrap();
    let post = PostMessageRequest {
        envelope: Bytes(sealed_message.to_bytes()),
        attachments: Vec::new(),
    };
    let stored: StoredMessage = relay
        .expect(
            Method::POST,
            &format!("{path}/messages"),
            p,
            Some(&post),
            StatusCode::CREATED,
        )
        .await;
    let retried: StoredMessage = relay
        .expect(
            Method::POST,
            &format!("{path}/messages"),
            p,
            Some(&post),
            StatusCode::OK,
        )
        .await;
    assert_eq!(retried, stored);
    let other = envelope::seal(
        &patient.keys,
        &key,
        header,
        &Payload::text("different"),
        &mut os_rng(),
    )
    .unwrap();
    relay
        .expect_error(
            Method::POST,
            &format!("{path}/messages"),
            p,
            Some(&PostMessageRequest {
                envelope: Bytes(other.to_bytes()),
                attachments: Vec::new(),
            }),
            StatusCode::CONFLICT,
            ErrorCode::MessageIdReused,
        )
        .await;

    // The clinic sees one unread message, opens its key and reads it.
    let threads: ThreadList = relay.get_ok("/v1/threads", c).await;
    assert_eq!(threads.threads.len(), 1);
    assert_eq!(threads.threads[0].unread_count, 1);
    let keys: SealedKeys = relay.get_ok(&format!("{path}/keys"), c).await;
    let patient_bundle: BundleResponse = relay.get_ok(&format!("/v1/keys/{}", patient.id), c).await;
    let patient_bundle = PublicBundle::from_bytes(&patient_bundle.bundle.0).unwrap();
    let opened_key = SealedThreadKey::from_bytes(&keys.keys[0].sealed.0)
        .unwrap()
        .open(&clinic.keys, &patient_bundle, &thread.thread_id, 0)
        .unwrap();
    let page: MessagePage = relay.get_ok(&format!("{path}/messages"), c).await;
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.next_cursor, None);
    let payload = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&opened_key, &thread.thread_id, &patient_bundle)
        .unwrap();
    assert_eq!(payload.text, text);

    // The relay stored ciphertext only.
    let stored = relay.stored_bytes().await;
    assert!(
        !stored.windows(text.len()).any(|w| w == text.as_bytes()),
        "plaintext on disk"
    );
}

#[tokio::test]
async fn messages_page_by_cursor() {
    let relay = Relay::start().await;
    let (_, patient, thread, key) = relay.conversation().await;
    let p = Some(patient.token.as_str());
    let path = format!("/v1/threads/{}", thread.thread_id);
    for n in 0..5 {
        relay
            .send_ok(&patient, &key, &thread.thread_id, 0, &format!("m{n}"), "x")
            .await;
    }
    let first: MessagePage = relay.get_ok(&format!("{path}/messages?limit=2"), p).await;
    assert_eq!(
        first.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    let rest: MessagePage = relay
        .expect(
            Method::GET,
            &format!(
                "{path}/messages?after={}&limit=10",
                first.next_cursor.unwrap()
            ),
            p,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        rest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(rest.next_cursor, None);
    relay
        .expect_error(
            Method::GET,
            &format!("{path}/messages?after=x"),
            p,
            NONE,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;
}

/// `GET {path}?{query}` as `token`, expecting 200.
async fn page(relay: &Relay, path: &str, token: Option<&str>, query: &str) -> MessagePage {
    relay.get_ok(&format!("{path}?{query}"), token).await
}

/// The seqs of a page's messages.
fn seqs(page: &MessagePage) -> Vec<u64> {
    page.messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn messages_page_backward_from_the_newest() {
    let relay = Relay::start().await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let p = Some(patient.token.as_str());
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    for n in 1..=7 {
        relay
            .send_ok(
                &patient,
                &key,
                &thread.thread_id,
                0,
                &format!("m{n}"),
                &format!("message {n}"),
            )
            .await;
    }
    // The newest page first, oldest first within it.
    let newest = page(&relay, &path, p, "before=latest&limit=3").await;
    assert_eq!(seqs(&newest), [5, 6, 7]);
    assert_eq!(newest.earlier_cursor, Some(5));
    assert_eq!(newest.next_cursor, None);
    let opened = Envelope::from_bytes(&newest.messages[2].envelope.0)
        .unwrap()
        .open(&key, &thread.thread_id, patient.keys.bundle())
        .unwrap();
    assert_eq!(opened.text, "message 7");

    // Walking back by earlier_cursor until it is absent: every message
    // exactly once, in order.
    let mut walked = seqs(&newest);
    let mut cursor = newest.earlier_cursor;
    let mut pages = 1;
    while let Some(before) = cursor {
        let earlier = page(&relay, &path, p, &format!("before={before}&limit=3")).await;
        assert!(
            !earlier.messages.is_empty(),
            "a cursor led to an empty page"
        );
        assert!(earlier.messages.len() <= 3);
        assert_eq!(earlier.next_cursor, None);
        let mut all = seqs(&earlier);
        all.extend(walked);
        walked = all;
        cursor = earlier.earlier_cursor;
        pages += 1;
        assert!(pages <= 3, "more pages than messages allow");
    }
    assert_eq!(walked, (1..=7).collect::<Vec<u64>>());
    assert_eq!(pages, 3);
    assert_eq!(
        seqs(&page(&relay, &path, p, "before=5&limit=3").await),
        [2, 3, 4]
    );

    // A page that ends exactly at the first message has no earlier cursor.
    let first_three = page(&relay, &path, p, "before=4&limit=3").await;
    assert_eq!(seqs(&first_three), [1, 2, 3]);
    assert_eq!(first_three.earlier_cursor, None);
    // All of it in one page; the default limit; nothing before #1.
    let whole = page(&relay, &path, p, "before=latest&limit=200").await;
    assert_eq!(seqs(&whole), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(whole.earlier_cursor, None);
    let default_limit = page(&relay, &path, p, "before=latest").await;
    assert_eq!(seqs(&default_limit), [1, 2, 3, 4, 5, 6, 7]);
    let nothing = page(&relay, &path, p, "before=1&limit=3").await;
    assert!(nothing.messages.is_empty());
    assert_eq!(nothing.earlier_cursor, None);
    assert_eq!(nothing.next_cursor, None);

    // Forward paging is unchanged and never carries an earlier cursor, not
    // even as a null in the JSON.
    let forward: serde_json::Value = relay.get_ok(&format!("{path}?after=2&limit=2"), p).await;
    assert_eq!(forward["next_cursor"], 4);
    assert!(forward.get("earlier_cursor").is_none(), "{forward}");
    let backward: serde_json::Value = relay
        .get_ok(&format!("{path}?before=latest&limit=2"), p)
        .await;
    assert_eq!(backward["earlier_cursor"], 6);

    // Both directions at once, or a `before` that is neither a number nor
    // `latest`: refused with a message that says what to send.
    let both = relay
        .expect_error(
            Method::GET,
            &format!("{path}?after=1&before=5"),
            p,
            NONE,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;
    assert!(
        both.error.message.contains("not both"),
        "{}",
        both.error.message
    );
    for garbage in ["soon", "-1", "", "LATEST", "1.5", "latest,3"] {
        let error = relay
            .expect_error(
                Method::GET,
                &format!("{path}?before={garbage}"),
                p,
                NONE,
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidQuery,
            )
            .await;
        assert!(
            error.error.message.contains("latest"),
            "before={garbage}: {}",
            error.error.message
        );
    }
    relay
        .expect_error(
            Method::GET,
            &format!("{path}?before=latest&newest=1"),
            p,
            NONE,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;

    // Another patient: the same 404 as for a thread that does not exist.
    let other = relay.patient(&clinic, "mallory@example.com").await;
    for query in ["before=latest", "before=5&limit=2"] {
        relay
            .expect_not_found(&format!("{path}?{query}"), Some(&other.token))
            .await;
    }
}

#[tokio::test]
async fn another_patient_can_read_or_write_nothing_of_the_first() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let alice = relay.patient(&clinic, "alice@example.com").await;
    let mallory = relay.patient(&clinic, "mallory@example.com").await;
    let a = Some(alice.token.as_str());
    let m = Some(mallory.token.as_str());
    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            a,
            Some(&CreateThreadRequest {
                category: Category::Question,
            }),
            StatusCode::CREATED,
        )
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    let key = ThreadKey::generate(&mut os_rng());
    let sealed = thread_key::seal(
        &key,
        &thread.thread_id,
        0,
        &alice.keys,
        alice.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    let epoch = json!({"epoch": 0, "sealed_keys": [Bytes(sealed.to_bytes())]});
    let header = Header {
        thread_id: thread.thread_id.clone(),
        epoch: 0,
        message_id: "m".into(),
        sender_id: mallory.id.clone(),
        sent_at_ms: 0,
    };
    let forged = envelope::seal(
        &mallory.keys,
        &key,
        header,
        &Payload::text("x"),
        &mut os_rng(),
    )
    .unwrap();
    let message = json!({"envelope": Bytes(forged.to_bytes())});

    // Every thread route, as Mallory: the same 404 as a thread that does not exist.
    let sweep: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, path.clone(), None),
        (Method::GET, format!("{path}/keys"), None),
        (Method::GET, format!("{path}/messages"), None),
        (Method::POST, format!("{path}/messages"), Some(message)),
        (Method::POST, format!("{path}/epochs"), Some(epoch)),
        (Method::GET, format!("/v1/keys/{}", alice.id), None),
    ];
    for (method, route, body) in sweep {
        relay
            .expect_error(
                method,
                &route,
                m,
                body.as_ref(),
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
            )
            .await;
    }
    let threads: ThreadList = relay.get_ok("/v1/threads", m).await;
    assert!(threads.threads.is_empty());
    // Mallory cannot publish a bundle in Alice's name either.
    let response = relay
        .call(
            Method::PUT,
            "/v1/keys/me",
            m,
            Some(&json!({"bundle": Bytes(alice.keys.bundle().to_bytes())})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Patients cannot invite.
    relay
        .expect_error(
            Method::POST,
            "/v1/invites",
            m,
            Some(&json!({"display_name": "x", "contact": "x@example.com"})),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    // Nothing without a session.
    for route in ["/v1/threads", "/v1/vault", "/v1/clinic"] {
        relay.expect_not_signed_in(route, None).await;
    }
}

#[tokio::test]
async fn bad_input_gets_specific_errors_in_one_shape() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let c = clinic.token.as_str();
    let url = |path: &str| format!("{}{path}", relay.url);

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, ErrorCode)> = vec![
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .body("display_name=x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::WrongContentType,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .json(&json!({"display_name": "x", "contact": "x@example.com", "admin": true})),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidField,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .json(&json!({"display_name": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidField,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .json(&json!({"display_name": "x", "contact": "not a contact"})),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidContact,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .json(&json!({"display_name": "", "contact": "x@example.com"})),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidDisplayName,
        ),
        (
            relay
                .http
                .post(url("/v1/invites"))
                .bearer_auth(c)
                .json(&json!({"display_name": "x".repeat(70_000), "contact": "x@example.com"})),
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
        ),
        (
            relay
                .http
                .put(url("/v1/keys/me"))
                .bearer_auth(c)
                .json(&json!({"bundle": "AAAA"})),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidBundle,
        ),
        (
            relay
                .http
                .put(url("/v1/keys/me"))
                .bearer_auth(c)
                .json(&json!({"bundle": "not base64!"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidField,
        ),
        (
            relay.http.get(url("/v1/nope")),
            StatusCode::NOT_FOUND,
            ErrorCode::NoSuchRoute,
        ),
        (
            relay.http.delete(url("/v1/threads")).bearer_auth(c),
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
        ),
        (
            relay
                .http
                .get(url("/v1/threads"))
                .header("authorization", "Bearer forged-token"),
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        let got = response.status();
        let cache = response
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_owned());
        let body: ward_proto::ErrorBody = response.json().await.unwrap();
        assert_eq!(
            (got, body.error.code),
            (status, code),
            "{}",
            body.error.message
        );
        assert_eq!(cache.as_deref(), Some("no-store"), "{code}");
        // Error messages never echo what was sent.
        assert!(
            !body.error.message.contains("not a contact") && !body.error.message.contains("xxxx")
        );
    }
}

#[tokio::test]
async fn a_device_can_be_signed_out_remotely() {
    use ward_proto::auth::SessionList;
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    // Two sessions for the clinic: setup, then a key sign-in ("another device").
    let second: ward_proto::auth::SessionCreated =
        relay.key_login(&clinic.keys).await.json().await.unwrap();
    let list: SessionList = relay.get_ok("/v1/sessions", Some(&clinic.token)).await;
    assert_eq!(list.sessions.len(), 2);
    assert_eq!(list.sessions.iter().filter(|s| s.current).count(), 1);
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
    relay
        .expect_not_signed_in("/v1/threads", Some(&second.token))
        .await;
    // A patient cannot sign out the clinic's session.
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mine: SessionList = relay.get_ok("/v1/sessions", Some(&clinic.token)).await;
    relay
        .expect_error(
            Method::DELETE,
            &format!("/v1/sessions/{}", mine.sessions[0].session_id),
            Some(&patient.token),
            NONE,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_never_ids() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            Some(&patient.token),
            Some(&CreateThreadRequest {
                category: Category::Question,
            }),
            StatusCode::CREATED,
        )
        .await;
    let _: Thread = relay
        .get_ok(
            &format!("/v1/threads/{}", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    let text = relay.metrics().await;
    assert!(
        text.contains("ward_http_requests_total{method=\"GET\",route=\"/v1/threads/{thread_id}\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("ward_messages_stored 0"));
    assert!(text.contains("ward_event_connections 0"));
    assert!(text.contains("ward_event_offers_total "), "{text}");
    assert!(text.contains("ward_connections_refused_total 0"), "{text}");
    // The default cap, derived from the open-file limit, is in force.
    let cap = text
        .lines()
        .find_map(|line| line.strip_prefix("ward_connections_max "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(cap > 0, "{text}");
    assert!(text.contains("ward_connections_open "), "{text}");
    assert!(!text.contains(&thread.thread_id), "ids never become labels");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let relay = Relay::start().await;
    let doc: serde_json::Value = relay
        .http
        .get(format!("{}/v1/openapi.json", relay.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // Every route the router serves under /v1 (but the document itself).
    let routes = [
        ("/v1/clinic/setup", "post"),
        ("/v1/clinic", "get"),
        ("/v1/embed", "get"),
        ("/v1/auth/key/challenge", "post"),
        ("/v1/auth/key/login", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/sessions", "get"),
        ("/v1/sessions/{session_id}", "delete"),
        ("/v1/passkeys", "get"),
        ("/v1/passkeys/register/start", "post"),
        ("/v1/passkeys/register/finish", "post"),
        ("/v1/passkeys/{passkey_id}", "delete"),
        ("/v1/passkeys/{passkey_id}", "patch"),
        ("/v1/auth/passkey/start", "post"),
        ("/v1/auth/passkey/finish", "post"),
        ("/v1/totp/enroll", "post"),
        ("/v1/totp/confirm", "post"),
        ("/v1/totp", "get"),
        ("/v1/totp", "delete"),
        ("/v1/auth/code/start", "post"),
        ("/v1/auth/code/verify", "post"),
        ("/v1/invites", "post"),
        ("/v1/enroll/start", "post"),
        ("/v1/enroll/code", "post"),
        ("/v1/enroll/verify", "post"),
        ("/v1/keys/me", "put"),
        ("/v1/keys/{account_id}", "get"),
        ("/v1/vault", "get"),
        ("/v1/vault", "put"),
        ("/v1/threads", "get"),
        ("/v1/threads", "post"),
        ("/v1/threads/{thread_id}", "get"),
        ("/v1/threads/{thread_id}/epochs", "post"),
        ("/v1/threads/{thread_id}/keys", "get"),
        ("/v1/threads/{thread_id}/messages", "get"),
        ("/v1/threads/{thread_id}/messages", "post"),
        ("/v1/threads/{thread_id}/receipts", "post"),
        ("/v1/threads/{thread_id}/typing", "post"),
        ("/v1/threads/{thread_id}/members", "post"),
        (
            "/v1/threads/{thread_id}/members/{account_id}/remove",
            "post",
        ),
        ("/v1/caregivers", "get"),
        ("/v1/caregivers/invites", "post"),
        ("/v1/events", "get"),
        ("/v1/push/key", "get"),
        ("/v1/push/subscription", "get"),
        ("/v1/push/subscription", "put"),
        ("/v1/push/subscription", "delete"),
        ("/v1/push/test", "post"),
        ("/v1/uploads", "post"),
        ("/v1/uploads/{upload_id}", "get"),
        ("/v1/uploads/{upload_id}/parts/{index}", "put"),
        ("/v1/uploads/{upload_id}/finalize", "post"),
        ("/v1/blobs/{blob_id}", "get"),
        ("/v1/blobs/{blob_id}/parts/{index}", "get"),
        ("/healthz", "get"),
    ];
    for (path, method) in routes {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "Thread",
        "StoredMessage",
        "PutVaultRequest",
        "ErrorBody",
        "SessionCreated",
        "TotpStatus",
        "CreateUploadRequest",
        "UploadCreated",
        "UploadStatus",
        "BlobFinalized",
        "BlobInfo",
        "ErrorCode",
        "Category",
        "Role",
    ] {
        assert!(schemas.contains_key(schema), "{schema} missing");
    }
    // Every code the relay sends is listed, and nothing else (not the
    // client-side `unknown`).
    let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    let sent: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(listed, sent);
    assert_eq!(
        schemas["Category"]["enum"],
        json!([
            "appointment",
            "refill",
            "question",
            "billing",
            "confidential",
            "other"
        ])
    );
}

#[tokio::test]
async fn an_epoch_must_be_sealed_to_every_member() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let p = Some(patient.token.as_str());
    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            p,
            Some(&CreateThreadRequest {
                category: Category::Billing,
            }),
            StatusCode::CREATED,
        )
        .await;
    let key = ThreadKey::generate(&mut os_rng());
    // Sealed to the patient only: the clinic could not read, so it is refused.
    let alone = thread_key::seal(
        &key,
        &thread.thread_id,
        0,
        &patient.keys,
        patient.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    relay
        .expect_error(
            Method::POST,
            &format!("/v1/threads/{}/epochs", thread.thread_id),
            p,
            Some(&PutEpochRequest {
                epoch: 0,
                sealed_keys: vec![Bytes(alone.to_bytes())],
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidSealedKey,
        )
        .await;
}

#[tokio::test]
async fn an_invite_buys_at_most_five_codes_an_hour() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite: InviteCreated = relay
        .expect(
            Method::POST,
            "/v1/invites",
            Some(&clinic.token),
            Some(&InviteCreateRequest {
                display_name: "Sam".into(),
                contact: "sam@example.com".into(),
            }),
            StatusCode::CREATED,
        )
        .await;
    let started = relay.start_enrollment(&invite.invite_code).await;
    for _ in 0..4 {
        let response = relay.send_enrollment_code(&started.enrollment_id).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let response = relay.send_enrollment_code(&started.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(support::error_code(response).await, ErrorCode::TooManyCodes);
    // Starting again does not buy more.
    let again = relay
        .expect::<_, EnrollStarted>(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest {
                invite_code: invite.invite_code,
            }),
            StatusCode::OK,
        )
        .await;
    let response = relay.send_enrollment_code(&again.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(relay.codes_for("sam@example.com").len(), 5);
}

#[tokio::test]
async fn no_code_is_sent_until_the_patient_says_the_invite_is_theirs() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let contact = "sam@example.com";
    let invite = relay.invite(&clinic, contact).await;
    let start = || async {
        relay
            .expect::<_, EnrollStarted>(
                Method::POST,
                "/v1/enroll/start",
                None,
                Some(&EnrollStartRequest {
                    invite_code: invite.clone(),
                }),
                StatusCode::OK,
            )
            .await
    };
    // "Is this you?" shows the name; answering "No" sends nothing.
    let started = start().await;
    assert_eq!(started.display_name, "Sam Patient");
    // Starting again before any code reuses that enrollment: no pile of rows.
    assert_eq!(start().await.enrollment_id, started.enrollment_id);
    assert!(relay.codes_for(contact).is_empty(), "no code before yes");
    // Nothing verifies before a code is sent.
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: started.enrollment_id.clone(),
                code: "000000".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;

    // "Yes": one code. "Send a new code": another, and the first stops working.
    let started = start().await;
    let response = relay.send_enrollment_code(&started.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let first = relay.last_code_for(contact);
    let response = relay.send_enrollment_code(&started.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(relay.codes_for(contact).len(), 2);
    let second = relay.last_code_for(contact);
    if first != second {
        relay
            .expect_error(
                Method::POST,
                "/v1/enroll/verify",
                None,
                Some(&EnrollVerifyRequest {
                    enrollment_id: started.enrollment_id.clone(),
                    code: first,
                }),
                StatusCode::BAD_REQUEST,
                ErrorCode::CodeNotValid,
            )
            .await;
    }

    // An unknown or timed-out enrollment is told to start again.
    let response = relay.send_enrollment_code("enr_unknown").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        support::error_code(response).await,
        ErrorCode::CeremonyExpired
    );
    let timed_out = start().await;
    sqlx::query("UPDATE enrollments SET expires_at = 1 WHERE enrollment_id = $1")
        .bind(&timed_out.enrollment_id)
        .execute(&relay.db().await)
        .await
        .unwrap();
    let response = relay.send_enrollment_code(&timed_out.enrollment_id).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(relay.codes_for(contact).len(), 2);

    // The newest code enrolls.
    let _: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: started.enrollment_id,
                code: second,
            }),
            StatusCode::OK,
        )
        .await;
}

#[tokio::test]
async fn a_threads_sealed_subject_and_newest_message_come_with_the_list() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Refill)
        .await;
    let id = thread.thread_id.clone();
    let path = format!("/v1/threads/{id}/subject");
    let seal_subject = |sender: &support::Account, thread_id: &str, epoch: u32| {
        let mut payload = Payload::default();
        payload.subject = Some("Blood pressure pills".into());
        let header = Header {
            thread_id: thread_id.to_owned(),
            epoch,
            message_id: "subject".into(),
            sender_id: sender.id.clone(),
            sent_at_ms: 1,
        };
        let sealed = envelope::seal(&sender.keys, &key, header, &payload, &mut os_rng()).unwrap();
        Bytes(sealed.to_bytes())
    };
    let put = |token: &str, subject: Bytes| {
        let (relay, path, token) = (&relay, path.clone(), token.to_owned());
        async move {
            relay
                .call(
                    Method::PUT,
                    &path,
                    Some(&token),
                    Some(&ward_proto::threads::SubjectRequest { subject }),
                )
                .await
        }
    };
    // Refused: another thread's envelope, a later epoch, too large, the clinic.
    for bad in [
        seal_subject(&sam, "thr_other", 0),
        seal_subject(&sam, &id, 1),
        Bytes(vec![2; 3000]),
    ] {
        let response = put(&sam.token, bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            support::error_code(response).await,
            ErrorCode::InvalidEnvelope
        );
    }
    let response = put(&clinic.token, seal_subject(&clinic, &id, 0)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The patient's, once.
    let subject = seal_subject(&sam, &id, 0);
    let response = put(&sam.token, subject.clone()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = put(&sam.token, seal_subject(&sam, &id, 0)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The list carries it and the newest message (a small one), sealed:
    // the clinic's copy opens to the same words.
    let response = relay.send(&sam, &key, &id, 0, "m1", "first").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = relay
        .send(&clinic, &key, &id, 0, "m2", "Which pharmacy?")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let list: ThreadList = relay.get_ok("/v1/threads", Some(&clinic.token)).await;
    let listed = list.threads.iter().find(|t| t.thread_id == id).unwrap();
    assert_eq!(listed.subject.as_ref(), Some(&subject));
    let opened = Envelope::from_bytes(&listed.subject.as_ref().unwrap().0)
        .unwrap()
        .open(&key, &id, sam.keys.bundle())
        .unwrap();
    assert_eq!(opened.subject.as_deref(), Some("Blood pressure pills"));
    let latest = listed.latest.as_ref().expect("the newest message");
    // A client that shows no previews can leave them out.
    let bare: ThreadList = relay
        .get_ok("/v1/threads?previews=false", Some(&clinic.token))
        .await;
    let bare = bare.threads.iter().find(|t| t.thread_id == id).unwrap();
    assert!(bare.latest.is_none());
    assert_eq!(bare.subject.as_ref(), Some(&subject));
    assert_eq!((latest.seq, latest.message_id.as_str()), (2, "m2"));
    let text = Envelope::from_bytes(&latest.envelope.0)
        .unwrap()
        .open(&key, &id, clinic.keys.bundle())
        .unwrap();
    assert_eq!(text.text, "Which pharmacy?");
    // Neither the subject nor the preview is stored readable.
    let stored = relay.stored_bytes().await;
    for words in ["Blood pressure pills", "Which pharmacy?"] {
        assert!(
            !stored.windows(words.len()).any(|w| w == words.as_bytes()),
            "{words}"
        );
    }
}
