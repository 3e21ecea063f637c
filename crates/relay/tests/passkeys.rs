//! Passkey ceremonies over real HTTP with a software authenticator
//! (webauthn-authenticator-rs's SoftPasskey, user verification asserted).
//! SoftPasskey cannot hold discoverable credentials, so sign-in here names
//! the account; the discoverable flow is driven by Chromium's virtual
//! authenticator in the end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{NONE, Relay};
use url::Url;
use ward_proto::auth::SessionCreated;
use ward_proto::passkeys::{
    AuthenticationStarted, FinishAuthentication, FinishRegistration, PasskeyInfo, PasskeyList,
    RegistrationStarted, RenamePasskey, StartAuthentication,
};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

fn origin() -> Url {
    Url::parse("http://localhost:8080").unwrap()
}

async fn register(
    relay: &Relay,
    token: &str,
    authenticator: &mut SoftPasskey,
    label: &str,
) -> PasskeyInfo {
    let started: RegistrationStarted = relay
        .expect(
            Method::POST,
            "/v1/passkeys/register/start",
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        started
            .options
            .public_key
            .authenticator_selection
            .as_ref()
            .unwrap()
            .user_verification,
        webauthn_rs_proto::UserVerificationPolicy::Required
    );
    let credential = authenticator
        .do_registration(origin(), started.options)
        .unwrap();
    relay
        .expect(
            Method::POST,
            "/v1/passkeys/register/finish",
            Some(token),
            Some(&FinishRegistration {
                ceremony_id: started.ceremony_id,
                credential,
                label: label.into(),
            }),
            StatusCode::CREATED,
        )
        .await
}

async fn sign_in(
    relay: &Relay,
    account_id: &str,
    authenticator: &mut SoftPasskey,
) -> (String, reqwest::Response) {
    let started: AuthenticationStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication {
                account_id: Some(account_id.into()),
            }),
            StatusCode::OK,
        )
        .await;
    let credential = authenticator
        .do_authentication(origin(), started.options)
        .unwrap();
    let finish = FinishAuthentication {
        ceremony_id: started.ceremony_id.clone(),
        credential,
    };
    let response = relay
        .call(Method::POST, "/v1/auth/passkey/finish", None, Some(&finish))
        .await;
    (started.ceremony_id, response)
}

#[tokio::test]
async fn register_a_passkey_then_sign_in_with_it() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut phone = SoftPasskey::new(true);
    let info = register(&relay, &patient.token, &mut phone, "Sam's phone").await;
    assert_eq!(info.label, "Sam's phone");

    let (_, response) = sign_in(&relay, &patient.id, &mut phone).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: SessionCreated = response.json().await.unwrap();
    assert_eq!(session.account_id, patient.id);
    assert_ne!(session.token, patient.token, "a new token on every sign-in");
    let list: PasskeyList = relay
        .expect(
            Method::GET,
            "/v1/passkeys",
            Some(&session.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(list.passkeys.len(), 1);
    assert!(list.passkeys[0].last_used_at.is_some());
}

#[tokio::test]
async fn a_ceremony_is_single_use_and_another_device_cannot_answer_it() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut phone = SoftPasskey::new(true);
    register(&relay, &patient.token, &mut phone, "Phone").await;

    // Replaying a finished ceremony fails.
    let started: AuthenticationStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication {
                account_id: Some(patient.id.clone()),
            }),
            StatusCode::OK,
        )
        .await;
    let credential = phone.do_authentication(origin(), started.options).unwrap();
    let finish = FinishAuthentication {
        ceremony_id: started.ceremony_id,
        credential,
    };
    let first = relay
        .call(Method::POST, "/v1/auth/passkey/finish", None, Some(&finish))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/passkey/finish",
            None,
            Some(&finish),
            StatusCode::BAD_REQUEST,
            "ceremony_expired",
        )
        .await;

    // A passkey registered on another account cannot answer for this one.
    let other = relay.patient(&clinic, "other@example.com").await;
    let mut other_phone = SoftPasskey::new(true);
    register(&relay, &other.token, &mut other_phone, "Other").await;
    let started: AuthenticationStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication {
                account_id: Some(patient.id.clone()),
            }),
            StatusCode::OK,
        )
        .await;
    // The other device holds no credential in the allow list.
    assert!(
        other_phone
            .do_authentication(origin(), started.options)
            .is_err()
    );
}

#[tokio::test]
async fn the_last_passkey_cannot_be_removed_but_a_second_one_can() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());
    let mut phone = SoftPasskey::new(true);
    let mut laptop = SoftPasskey::new(true);
    let first = register(&relay, &patient.token, &mut phone, "Phone").await;
    relay
        .expect_error(
            Method::DELETE,
            &format!("/v1/passkeys/{}", first.passkey_id),
            t,
            NONE,
            StatusCode::CONFLICT,
            "last_passkey",
        )
        .await;
    register(&relay, &patient.token, &mut laptop, "Laptop").await;
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/passkeys/{}", first.passkey_id),
            t,
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // The removed phone can no longer sign in; the laptop can.
    let (_, response) = sign_in(&relay, &patient.id, &mut laptop).await;
    assert_eq!(response.status(), StatusCode::OK);
    let started: AuthenticationStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication {
                account_id: Some(patient.id.clone()),
            }),
            StatusCode::OK,
        )
        .await;
    assert!(phone.do_authentication(origin(), started.options).is_err());
    // Someone else's passkey id is not found.
    let other = relay.patient(&clinic, "other@example.com").await;
    relay
        .expect_error(
            Method::DELETE,
            &format!("/v1/passkeys/{}", first.passkey_id),
            Some(&other.token),
            NONE,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
}

async fn labels(relay: &Relay, token: &str) -> Vec<String> {
    let list: PasskeyList = relay
        .expect(
            Method::GET,
            "/v1/passkeys",
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let mut labels: Vec<String> = list.passkeys.into_iter().map(|p| p.label).collect();
    // Registered within the same millisecond, their order is not fixed.
    labels.sort();
    labels
}

#[tokio::test]
async fn a_passkey_can_be_renamed_by_its_owner_only() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());
    let mut phone = SoftPasskey::new(true);
    let mut laptop = SoftPasskey::new(true);
    let first = register(&relay, &patient.token, &mut phone, "Phone").await;
    register(&relay, &patient.token, &mut laptop, "Laptop").await;
    let path = format!("/v1/passkeys/{}", first.passkey_id);

    // Renamed (trimmed, as at registration); only that passkey changes.
    let renamed: PasskeyInfo = relay
        .expect(
            Method::PATCH,
            &path,
            t,
            Some(&RenamePasskey {
                label: "  Sam's Pixel 7 ".into(),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        renamed,
        PasskeyInfo {
            label: "Sam's Pixel 7".into(),
            ..first
        }
    );
    assert_eq!(
        labels(&relay, &patient.token).await,
        ["Laptop", "Sam's Pixel 7"]
    );

    // Empty, too long or with a line break: refused with the registration
    // rule's code and a message a person can act on; nothing changes.
    for label in ["", "   ", &"x".repeat(101), "Work\nlaptop"] {
        let error = relay
            .expect_error(
                Method::PATCH,
                &path,
                t,
                Some(&RenamePasskey {
                    label: label.into(),
                }),
                StatusCode::BAD_REQUEST,
                "invalid_display_name",
            )
            .await;
        assert!(
            error.error.message.contains("1 to 100 characters"),
            "{}",
            error.error.message
        );
    }
    // The limit counts characters, not bytes.
    let longest = "é".repeat(100);
    let renamed: PasskeyInfo = relay
        .expect(
            Method::PATCH,
            &path,
            t,
            Some(&RenamePasskey {
                label: longest.clone(),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed.label, longest);
    relay
        .expect_error(
            Method::PATCH,
            &path,
            t,
            Some(&json!({"label": "Phone", "name": "Phone"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        )
        .await;
    assert_eq!(labels(&relay, &patient.token).await, ["Laptop", &*longest]);

    // Another patient cannot rename it, nor learn that it exists.
    let other = relay.patient(&clinic, "other@example.com").await;
    for target in [path.as_str(), "/v1/passkeys/pk_does_not_exist"] {
        relay
            .expect_error(
                Method::PATCH,
                target,
                Some(&other.token),
                Some(&RenamePasskey {
                    label: "Mine now".into(),
                }),
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
    }
    assert_eq!(labels(&relay, &patient.token).await, ["Laptop", &*longest]);
    // And it needs a session.
    relay
        .expect_error(
            Method::PATCH,
            &path,
            None,
            Some(&RenamePasskey {
                label: "Mine now".into(),
            }),
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
        )
        .await;
    assert_eq!(labels(&relay, &patient.token).await, ["Laptop", &*longest]);
}

#[tokio::test]
async fn discoverable_sign_in_offers_no_credential_list() {
    let relay = Relay::start().await;
    let started: AuthenticationStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication::default()),
            StatusCode::OK,
        )
        .await;
    assert!(started.options.public_key.allow_credentials.is_empty());
    assert_eq!(
        started.options.public_key.user_verification,
        webauthn_rs_proto::UserVerificationPolicy::Required
    );
}
