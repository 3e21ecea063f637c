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
use ward_proto::ErrorCode;
use ward_proto::auth::{EnrollStartRequest, EnrollVerifyRequest, SessionCreated};
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
    // Creating it took the person's screen lock: it has been used.
    assert_eq!(info.last_used_at, Some(info.created_at));

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
    assert!(list.passkeys[0].last_used_at >= Some(info.created_at));
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
            ErrorCode::CeremonyExpired,
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
            ErrorCode::LastPasskey,
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
            ErrorCode::NotFound,
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
                ErrorCode::InvalidDisplayName,
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
            ErrorCode::InvalidField,
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
                ErrorCode::NotFound,
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
            ErrorCode::NotSignedIn,
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

async fn verify_enrollment(relay: &Relay, enrollment_id: &str, code: &str) -> reqwest::Response {
    relay
        .call(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: enrollment_id.into(),
                code: code.into(),
            }),
        )
        .await
}

async fn count(relay: &Relay, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&relay.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_enrollment_without_a_passkey_resumes_with_the_same_invite_until_one_is_added() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let contact = "sam@example.com";
    let invite = relay.invite(&clinic, contact).await;
    let first = relay.enroll_session(&invite, contact).await;
    let first_started_codes = relay.codes_for(contact);
    assert_eq!(first_started_codes.len(), 1);

    // The patient reloaded before adding a passkey: the same invite starts
    // again, with a new code to the same contact.
    let started = relay.start_enrollment(&invite).await;
    assert_eq!(started.display_name, "Sam Patient");
    assert_eq!(relay.codes_for(contact).len(), 2);
    // The first enrollment stays used: its code does not sign in again.
    let used: String =
        sqlx::query_scalar("SELECT enrollment_id FROM enrollments WHERE used_at IS NOT NULL")
            .fetch_one(&relay.db().await)
            .await
            .unwrap();
    let replay = verify_enrollment(&relay, &used, &first_started_codes[0]).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);

    let response = verify_enrollment(
        &relay,
        &started.enrollment_id,
        &relay.last_code_for(contact),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: SessionCreated = response.json().await.unwrap();
    // The same account, not a second one.
    assert_eq!(second.account_id, first.account_id);
    assert_ne!(second.token, first.token);
    assert_eq!(
        count(
            &relay,
            "SELECT COUNT(*) FROM accounts WHERE kind = 'patient'"
        )
        .await,
        1
    );
    // The earlier enrollment session ended; the new one works.
    relay
        .expect_error(
            Method::GET,
            "/v1/passkeys",
            Some(&first.token),
            NONE,
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
        )
        .await;
    assert!(labels(&relay, &second.token).await.is_empty());

    // An enrollment started before the passkey was added ...
    let pending = relay.start_enrollment(&invite).await;
    let pending_code = relay.last_code_for(contact);
    let mut phone = SoftPasskey::new(true);
    register(&relay, &second.token, &mut phone, "Phone").await;
    // ... finds the invite used once it has been; a new one is refused.
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: pending.enrollment_id,
                code: pending_code,
            }),
            StatusCode::CONFLICT,
            ErrorCode::InviteUsed,
        )
        .await;
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest {
                invite_code: invite.clone(),
            }),
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
        )
        .await;
    assert_eq!(relay.codes_for(contact).len(), 3);
    // The session from the resumed enrollment still works; the passkey signs in.
    assert_eq!(labels(&relay, &second.token).await, ["Phone"]);
    let (_, response) = sign_in(&relay, &first.account_id, &mut phone).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_expired_invite_does_not_resume() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite = relay.invite(&clinic, "sam@example.com").await;
    relay.enroll_session(&invite, "sam@example.com").await;
    let expired = sqlx::query("UPDATE invites SET expires_at = $1")
        .bind(1_i64)
        .execute(&relay.db().await)
        .await
        .unwrap();
    assert_eq!(expired.rows_affected(), 1);
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest {
                invite_code: invite,
            }),
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
        )
        .await;
    assert_eq!(relay.codes_for("sam@example.com").len(), 1);
}

async fn registration(relay: &Relay, token: &str) -> RegistrationStarted {
    relay
        .expect(
            Method::POST,
            "/v1/passkeys/register/start",
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await
}

async fn finish_registration(
    relay: &Relay,
    token: &str,
    started: RegistrationStarted,
    authenticator: &mut SoftPasskey,
) -> reqwest::Response {
    let credential = authenticator
        .do_registration(origin(), started.options)
        .unwrap();
    relay
        .call(
            Method::POST,
            "/v1/passkeys/register/finish",
            Some(token),
            Some(&FinishRegistration {
                ceremony_id: started.ceremony_id,
                credential,
                label: "Passkey".into(),
            }),
        )
        .await
}

/// What Ward's passkey window hands back to a framed client is a
/// registration credential (docs/embedding.md §4): it answers one ceremony
/// of the frame's session, once, and only in time.
#[tokio::test]
async fn a_registration_credential_is_taken_once_and_not_after_its_ceremony_ends() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = patient.token.as_str();
    let mut phone = SoftPasskey::new(true);
    let started = registration(&relay, t).await;
    let credential = phone.do_registration(origin(), started.options).unwrap();
    let finish = FinishRegistration {
        ceremony_id: started.ceremony_id,
        credential,
        label: "Phone".into(),
    };
    let first = relay
        .call(
            Method::POST,
            "/v1/passkeys/register/finish",
            Some(t),
            Some(&finish),
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    // Replayed: refused.
    relay
        .expect_error(
            Method::POST,
            "/v1/passkeys/register/finish",
            Some(t),
            Some(&finish),
            StatusCode::BAD_REQUEST,
            ErrorCode::CeremonyExpired,
        )
        .await;

    // Late: its ceremony timed out before the credential came back.
    let (_, response) = sign_in(&relay, &patient.id, &mut phone).await;
    let fresh: SessionCreated = response.json().await.unwrap();
    let mut laptop = SoftPasskey::new(true);
    let started = registration(&relay, &fresh.token).await;
    sqlx::query("UPDATE ceremonies SET expires_at = 1 WHERE ceremony_id = $1")
        .bind(&started.ceremony_id)
        .execute(&relay.db().await)
        .await
        .unwrap();
    let response = finish_registration(&relay, &fresh.token, started, &mut laptop).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: ward_proto::ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, ErrorCode::CeremonyExpired);
    assert_eq!(labels(&relay, t).await, ["Phone"]);
}

#[tokio::test]
async fn the_first_passkey_needs_no_step_up_but_a_second_one_does() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = patient.token.as_str();
    // Enrolled longer ago than the step-up window, no passkey yet.
    assert_eq!(relay.age_sessions(&patient.id).await, 1);

    // Two first-passkey ceremonies from that stale session: the first one
    // to finish is the account's first passkey, the other would be a second
    // one, and is refused at finish.
    let mut phone = SoftPasskey::new(true);
    let mut laptop = SoftPasskey::new(true);
    let for_phone = registration(&relay, t).await;
    let for_laptop = registration(&relay, t).await;
    let response = finish_registration(&relay, t, for_phone, &mut phone).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = finish_registration(&relay, t, for_laptop, &mut laptop).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ward_proto::ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, ErrorCode::StepUpRequired);
    assert_eq!(labels(&relay, t).await, ["Passkey"]);

    // A second passkey from the stale session: refused at start.
    relay
        .expect_error(
            Method::POST,
            "/v1/passkeys/register/start",
            Some(t),
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    // After a fresh sign-in, it is added.
    let (_, response) = sign_in(&relay, &patient.id, &mut phone).await;
    let fresh: SessionCreated = response.json().await.unwrap();
    register(&relay, &fresh.token, &mut laptop, "Laptop").await;
    assert_eq!(labels(&relay, t).await, ["Laptop", "Passkey"]);
}

/// `POST /v1/auth/passkey/start` with `account_id`: status and JSON, the
/// ceremony id and challenge (random every time) left out.
async fn start_for(relay: &Relay, account_id: &str) -> (StatusCode, serde_json::Value) {
    let response = relay
        .call(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication {
                account_id: Some(account_id.into()),
            }),
        )
        .await;
    (response.status(), response.json().await.unwrap())
}

/// The JSON's shape: every string replaced by its length, so two answers
/// compare equal when they differ only in random or per-account bytes.
fn shape(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => json!(format!("<{} chars>", s.len())),
        serde_json::Value::Array(items) => items.iter().map(shape).collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, value)| (key.clone(), shape(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

fn allowed_ids(answer: &serde_json::Value) -> Vec<String> {
    answer["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn passkey_start_answers_alike_for_unknown_accounts_and_reveals_no_credential() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut phone = SoftPasskey::new(true);
    register(&relay, &patient.token, &mut phone, "Phone").await;
    // Enrolled, but no passkey yet: nothing to reveal either.
    let without = relay.patient(&clinic, "kim@example.com").await;
    // Ids shaped like real ones ("acc_" and 22 base64url characters).
    let unknown = "acc_AAAAAAAAAAAAAAAAAAAAAA";
    let other_unknown = "acc_BBBBBBBBBBBBBBBBBBBBBB";

    let (status, known) = start_for(&relay, &patient.id).await;
    assert_eq!(status, StatusCode::OK, "{known}");
    assert_eq!(allowed_ids(&known).len(), 1);
    for id in [unknown, other_unknown, without.id.as_str()] {
        let (status, answer) = start_for(&relay, id).await;
        assert_eq!(status, StatusCode::OK, "{id}: {answer}");
        assert_eq!(shape(&answer), shape(&known), "{id}: {answer}\nvs {known}");
        assert_ne!(allowed_ids(&answer), allowed_ids(&known));
        // Stable: a repeated probe sees the same credential ids, as it
        // would for a real account.
        let (_, again) = start_for(&relay, id).await;
        assert_eq!(allowed_ids(&again), allowed_ids(&answer), "{id}");
        assert_ne!(again["ceremony_id"], answer["ceremony_id"]);
    }
    let (_, again) = start_for(&relay, &patient.id).await;
    assert_eq!(allowed_ids(&again), allowed_ids(&known));
    assert_ne!(
        allowed_ids(&start_for(&relay, unknown).await.1),
        allowed_ids(&start_for(&relay, other_unknown).await.1)
    );

    // A decoy ceremony cannot be finished, and fails exactly like a wrong
    // passkey: the phone's real answer to the real ceremony, sent for it.
    let real: AuthenticationStarted = serde_json::from_value(known).unwrap();
    let credential = phone.do_authentication(origin(), real.options).unwrap();
    let (_, decoy) = start_for(&relay, unknown).await;
    for ceremony_id in [
        decoy["ceremony_id"].as_str().unwrap().to_owned(),
        real.ceremony_id.clone(),
    ] {
        let finish = FinishAuthentication {
            ceremony_id: ceremony_id.clone(),
            credential: credential.clone(),
        };
        if ceremony_id == real.ceremony_id {
            // The real one still works (the decoy did not consume it).
            let response = relay
                .call(Method::POST, "/v1/auth/passkey/finish", None, Some(&finish))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        } else {
            relay
                .expect_error(
                    Method::POST,
                    "/v1/auth/passkey/finish",
                    None,
                    Some(&finish),
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::PasskeyFailed,
                )
                .await;
        }
    }
}

#[tokio::test]
async fn a_flooded_contact_and_failed_signatures_never_block_a_passkey_sign_in() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut phone = SoftPasskey::new(true);
    register(&relay, &patient.token, &mut phone, "Sam's phone").await;
    // A stranger, from the same address, asks for codes to Sam's contact
    // until refused, and throws forged signatures at the relay.
    let mut refused = 0;
    for _ in 0..20 {
        let response = relay
            .call(
                Method::POST,
                "/v1/auth/code/start",
                None,
                Some(&ward_proto::auth::CodeLoginStart {
                    contact: "sam@example.com".into(),
                }),
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(refused, 15);
    for _ in 0..25 {
        let challenge: ward_proto::auth::KeyChallenge = relay
            .expect(
                Method::POST,
                "/v1/auth/key/challenge",
                None,
                Some(&ward_proto::auth::KeyChallengeRequest {
                    account_id: clinic.id.clone(),
                }),
                StatusCode::OK,
            )
            .await;
        relay
            .call(
                Method::POST,
                "/v1/auth/key/login",
                None,
                Some(&ward_proto::auth::KeyLoginRequest {
                    challenge_id: challenge.challenge_id,
                    signature: ward_proto::Bytes(vec![1; 64]),
                }),
            )
            .await;
    }
    // Sam signs in with the passkey all the same.
    let (_, response) = sign_in(&relay, &patient.id, &mut phone).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stale_session_cannot_add_or_remove_passkeys_and_each_change_is_in_the_history() {
    use ward_proto::account::{AccountEventKind, AccountHistory};
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut phone = SoftPasskey::new(true);
    let mut laptop = SoftPasskey::new(true);
    let first = register(&relay, &patient.token, &mut phone, "Phone").await;
    register(&relay, &patient.token, &mut laptop, "Laptop").await;

    // Stolen an hour later: no passkey added, none removed.
    assert_eq!(relay.age_sessions(&patient.id).await, 1);
    let t = Some(patient.token.as_str());
    relay
        .expect_error(
            Method::POST,
            "/v1/passkeys/register/start",
            t,
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    relay
        .expect_error(
            Method::DELETE,
            &format!("/v1/passkeys/{}", first.passkey_id),
            t,
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    assert_eq!(labels(&relay, &patient.token).await.len(), 2);

    // After signing in again, the phone is removed; every change and the
    // sign-in are in the account's history, newest first.
    let (_, response) = sign_in(&relay, &patient.id, &mut laptop).await;
    let fresh: SessionCreated = response.json().await.unwrap();
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/passkeys/{}", first.passkey_id),
            Some(&fresh.token),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let history: AccountHistory = relay
        .expect(
            Method::GET,
            "/v1/account/history",
            Some(&fresh.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let kinds: Vec<AccountEventKind> = history.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AccountEventKind::PasskeyRemoved,
            AccountEventKind::SignedIn,
            AccountEventKind::PasskeyAdded,
            AccountEventKind::PasskeyAdded,
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn,
        ]
    );
    assert_eq!(history.events[0].detail.as_deref(), Some("Phone"));
    assert_eq!(history.events[0].session_id, history.events[1].session_id);
}
