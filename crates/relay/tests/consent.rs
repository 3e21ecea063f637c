//! The clinic's consent to messaging (issue 15): the configured text served
//! to anyone, an account agreeing to exactly that text (recorded with its
//! version, hash, time and method, and in the access log), withdrawing
//! (every send and new thread in the patient's conversations refused with
//! `consent_withdrawn`, nothing deleted), agreeing again, and the clinic
//! reading where an account stands; a text changed since it was shown is
//! refused, and an agreement keeps the words agreed to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use support::{NONE, Relay};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::{
    AccountEventKind, AccountHistory, ConsentAccept, ConsentDetail, ConsentStatus, ConsentText,
};
use ward_proto::threads::{Category, CreateThreadRequest};

async fn agree(relay: &Relay, token: &str, text: &ConsentText) -> reqwest::Response {
    relay
        .call(
            Method::POST,
            "/v1/account/consent",
            Some(token),
            Some(&ConsentAccept {
                version: text.version.clone(),
                sha256: text.sha256.clone(),
            }),
        )
        .await
}

#[tokio::test]
async fn a_patient_agrees_withdraws_and_agrees_again_and_messaging_follows() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let other = relay.patient(&clinic, "alex@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Refill)
        .await;
    let t = thread.thread_id.as_str();

    // The text, to anyone, hashed as stated.
    let text: ConsentText = relay
        .expect(Method::GET, "/v1/consent", None, NONE, StatusCode::OK)
        .await;
    assert_eq!(text.version, ward_relay::config::DEFAULT_CONSENT_VERSION);
    assert!(text.text.contains("In an emergency, call 911"));
    assert_eq!(text.sha256.0, Sha256::digest(text.text.as_bytes()).to_vec());

    // Another hash than the text's is not an agreement to it.
    let mut altered = text.clone();
    altered.sha256 = Bytes(vec![0; 32]);
    let refused = agree(&relay, &sam.token, &altered).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: ward_proto::ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::ConsentChanged);

    // Sam agrees before any passkey: part of enrollment.
    let agreed = agree(&relay, &sam.token, &text).await;
    assert_eq!(agreed.status(), StatusCode::OK);
    let status: ConsentStatus = agreed.json().await.unwrap();
    assert_eq!(status.agreed.as_ref(), Some(&text));
    assert_eq!(status.method.as_deref(), Some("enrollment"));
    assert!(status.agreed_at.is_some() && status.withdrawn_at.is_none());
    relay.send_ok(&sam, &key, t, 0, "m1", "Refill please").await;

    // Withdrawn: nothing more is sent in Sam's conversation, by anyone;
    // everything stays readable.
    let _: ConsentStatus = relay
        .expect(
            Method::POST,
            "/v1/account/consent/withdraw",
            Some(&sam.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let own = relay.send(&sam, &key, t, 0, "m2", "again").await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let own: ward_proto::ErrorBody = own.json().await.unwrap();
    assert_eq!(own.error.code, ErrorCode::ConsentWithdrawn);
    assert!(own.error.message.starts_with("You withdrew your consent"));
    let reply = relay.send(&clinic, &key, t, 0, "c1", "Noted").await;
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);
    let reply: ward_proto::ErrorBody = reply.json().await.unwrap();
    assert_eq!(reply.error.code, ErrorCode::ConsentWithdrawn);
    assert!(reply.error.message.starts_with("The patient withdrew"));
    relay
        .expect_error(
            Method::POST,
            "/v1/threads",
            Some(&sam.token),
            Some(&CreateThreadRequest {
                category: Category::Question,
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::ConsentWithdrawn,
        )
        .await;
    let page: ward_proto::threads::MessagePage = relay
        .get_ok(&format!("/v1/threads/{t}/messages"), Some(&sam.token))
        .await;
    assert_eq!(page.messages.len(), 1);

    // The clinic sees it; another patient cannot ask.
    let seen: ConsentStatus = relay
        .get_ok(
            &format!("/v1/accounts/{}/consent", sam.id),
            Some(&clinic.token),
        )
        .await;
    assert!(seen.withdrawn_at.is_some());
    relay
        .expect_error(
            Method::GET,
            &format!("/v1/accounts/{}/consent", sam.id),
            Some(&other.token),
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    // Nothing to withdraw for an account that never agreed.
    relay
        .expect_error(
            Method::POST,
            "/v1/account/consent/withdraw",
            Some(&other.token),
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;

    // Agreeing again restarts messaging.
    assert_eq!(
        agree(&relay, &sam.token, &text).await.status(),
        StatusCode::OK
    );
    relay.send_ok(&sam, &key, t, 0, "m3", "Thanks").await;

    // Each step is in Sam's access log, with the version and hash.
    let history: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    let consent: Vec<(AccountEventKind, ConsentDetail)> = history
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                AccountEventKind::ConsentGiven | AccountEventKind::ConsentWithdrawn
            )
        })
        .map(|e| {
            (
                e.kind,
                serde_json::from_str(e.detail.as_deref().unwrap()).unwrap(),
            )
        })
        .collect();
    let hex: String = text.sha256.0.iter().map(|b| format!("{b:02x}")).collect();
    let kinds: Vec<AccountEventKind> = consent.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            AccountEventKind::ConsentGiven,
            AccountEventKind::ConsentWithdrawn,
            AccountEventKind::ConsentGiven,
        ]
    );
    assert!(
        consent
            .iter()
            .all(|(_, d)| d.sha256 == hex && d.version == text.version)
    );
}

/// A clinic that changes its text: an agreement keeps the words agreed to,
/// and the new text is what is offered.
#[tokio::test]
async fn an_agreement_keeps_the_words_agreed_to_when_the_clinic_changes_its_text() {
    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let first: ConsentText = relay.get_ok("/v1/consent", None).await;
    assert_eq!(
        agree(&relay, &sam.token, &first).await.status(),
        StatusCode::OK
    );
    relay
        .restart_with(|config| {
            config.consent_version = "2027-01".into();
            config.consent_text = "Messaging, as of January.\n\nNew terms.".into();
        })
        .await
        .unwrap();
    let status: ConsentStatus = relay.get_ok("/v1/account/consent", Some(&sam.token)).await;
    assert_eq!(status.agreed.as_ref(), Some(&first));
    assert_eq!(status.current.version, "2027-01");
    assert_ne!(status.current.sha256, first.sha256);
    // The old text can no longer be agreed to.
    assert_eq!(
        agree(&relay, &sam.token, &first).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        agree(&relay, &sam.token, &status.current).await.status(),
        StatusCode::OK
    );
}

/// Inviting a caregiver is agreeing to the caregiver terms the patient was
/// shown: recorded in their access log with the terms' version and hash,
/// kept by that hash; terms changed since they were shown are refused and
/// nothing is invited.
#[tokio::test]
async fn inviting_a_caregiver_agrees_to_the_terms_shown_and_changed_terms_are_refused() {
    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let terms: ConsentText = relay
        .get_ok("/v1/caregivers/consent", Some(&sam.token))
        .await;
    assert_eq!(
        terms.sha256.0,
        Sha256::digest(terms.text.as_bytes()).to_vec()
    );
    assert!(terms.text.contains("Only me"), "{}", terms.text);
    let shown = ConsentAccept {
        version: terms.version.clone(),
        sha256: terms.sha256.clone(),
    };
    let invite = |consent: ConsentAccept| ward_proto::auth::CaregiverInviteRequest {
        display_name: "Dana".into(),
        contact: "dana@example.com".into(),
        relationship: None,
        consent,
    };
    let made = relay
        .call(
            Method::POST,
            "/v1/caregivers/invites",
            Some(&sam.token),
            Some(&invite(shown.clone())),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let log: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    assert_eq!(log.events[0].kind, AccountEventKind::CaregiverInvited);
    assert_eq!(log.events[1].kind, AccountEventKind::ConsentGiven);
    let detail: ConsentDetail =
        serde_json::from_str(log.events[1].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail.method, "caregiver_invite");
    assert_eq!(detail.caregiver.as_deref(), Some("Dana"));
    assert_eq!(detail.version, terms.version);
    let hex: String = terms.sha256.0.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(detail.sha256, hex);

    // The clinic changes its terms: what Sam was shown is refused.
    relay
        .restart_with(|config| {
            config.caregiver_consent_version = "2027-01".into();
            config.caregiver_consent_text = "Caregivers, as of January.".into();
        })
        .await
        .unwrap();
    let stale = relay
        .call(
            Method::POST,
            "/v1/caregivers/invites",
            Some(&sam.token),
            Some(&invite(shown)),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(
        stale
            .json::<ward_proto::ErrorBody>()
            .await
            .unwrap()
            .error
            .code,
        ErrorCode::ConsentChanged
    );
    let after: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    assert_eq!(after.events.len(), log.events.len(), "nothing was recorded");
}

/// Issue 19: the consent text in the patient's language. The relay has its
/// default text in Spanish, and a clinic gives its own under
/// `[clinic_texts.es]`; a patient agrees to the text they read (kept by its
/// hash), is not asked again for switching languages, and the same holds
/// for the caregiver terms.
#[tokio::test]
async fn a_patient_agrees_to_the_text_in_their_language_and_it_is_kept() {
    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let english: ConsentText = relay.get_ok("/v1/consent", None).await;
    let spanish: ConsentText = relay.get_ok("/v1/consent?lang=es", None).await;
    assert!(
        spanish
            .text
            .starts_with("Mensajes con su equipo de atención"),
        "{}",
        spanish.text
    );
    assert!(spanish.text.contains("En una emergencia, llame al 911"));
    assert_eq!(
        spanish.version, english.version,
        "the same version, said in Spanish"
    );
    assert_eq!(
        spanish.sha256.0,
        Sha256::digest(spanish.text.as_bytes()).to_vec()
    );
    // A language the relay has no text in: the English.
    let other: ConsentText = relay.get_ok("/v1/consent?lang=fr", None).await;
    assert_eq!(other, english);
    let odd = relay
        .call(Method::GET, "/v1/consent?colour=red", None, NONE)
        .await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);
    let body: ward_proto::ErrorBody = odd.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::InvalidQuery);

    // Sam agrees to the Spanish; it is what is kept and logged.
    let agreed = agree(&relay, &sam.token, &spanish).await;
    assert_eq!(agreed.status(), StatusCode::OK);
    let status: ConsentStatus = agreed.json().await.unwrap();
    assert_eq!(status.agreed.as_ref(), Some(&spanish));
    // Reading in English now, Sam has agreed to the text as it stands.
    let status: ConsentStatus = relay
        .get_ok("/v1/account/consent?lang=en", Some(&sam.token))
        .await;
    assert_eq!(
        status.current, spanish,
        "not asked again for a language switch"
    );
    let history: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    let given = history
        .events
        .iter()
        .find(|e| e.kind == AccountEventKind::ConsentGiven)
        .expect("consent_given");
    let detail: ConsentDetail = serde_json::from_str(given.detail.as_deref().unwrap()).unwrap();
    let hex: String = spanish
        .sha256
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(detail.sha256, hex);

    // The caregiver terms in Spanish too.
    let terms: ConsentText = relay
        .get_ok("/v1/caregivers/consent?lang=es", Some(&sam.token))
        .await;
    assert!(
        terms.text.starts_with("Permitir que alguien le ayude"),
        "{}",
        terms.text
    );

    // A clinic's own Spanish, for its own English text; a clinic that
    // wrote its own English and no Spanish shows its English.
    relay
        .restart_with(|config| {
            config.consent_version = "2027-01".into();
            config.consent_text = "Our terms.".into();
            config.clinic_texts.insert(
                "es".into(),
                ward_relay::config::ClinicTexts {
                    consent_text: Some(" Nuestros términos. ".into()),
                    ..Default::default()
                },
            );
        })
        .await
        .unwrap();
    let spanish: ConsentText = relay.get_ok("/v1/consent?lang=es", None).await;
    assert_eq!(spanish.text, "Nuestros términos.");
    assert_eq!(spanish.version, "2027-01");
    let terms: ConsentText = relay
        .get_ok("/v1/caregivers/consent?lang=es", Some(&sam.token))
        .await;
    assert!(
        terms.text.starts_with("Permitir"),
        "the terms are still the relay's default"
    );
    relay
        .restart_with(|config| {
            config.consent_version = "2027-01".into();
            config.consent_text = "Our terms.".into();
        })
        .await
        .unwrap();
    let spanish: ConsentText = relay.get_ok("/v1/consent?lang=es", None).await;
    assert_eq!(
        spanish.text, "Our terms.",
        "no translation of a clinic's own text is made up"
    );
}
