//! TOTP and the fallback sign-in (code to the contact on file + TOTP) over
//! real HTTP, with codes computed as an authenticator app would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{NONE, Relay};
use totp_rs::{Algorithm, Secret, TOTP};
use ward_proto::ErrorCode;
use ward_proto::auth::{
    CodeLoginStart, CodeLoginVerify, SessionCreated, TotpCode, TotpEnrollment, TotpStatus,
};

fn app(enrollment: &TotpEnrollment) -> TOTP {
    let secret = Secret::Encoded(enrollment.secret_base32.clone())
        .to_bytes()
        .unwrap();
    TOTP::new(Algorithm::SHA1, 6, 0, 30, secret, None, String::new()).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn status(relay: &Relay, token: &str) -> TotpStatus {
    relay
        .expect(Method::GET, "/v1/totp", Some(token), NONE, StatusCode::OK)
        .await
}

const OFF: TotpStatus = TotpStatus {
    enabled: false,
    pending: false,
};

#[tokio::test]
async fn totp_status_follows_enroll_confirm_and_disable() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());

    assert_eq!(status(&relay, &patient.token).await, OFF);

    let enrollment: TotpEnrollment = relay
        .expect(Method::POST, "/v1/totp/enroll", t, NONE, StatusCode::OK)
        .await;
    let pending = TotpStatus {
        enabled: false,
        pending: true,
    };
    assert_eq!(status(&relay, &patient.token).await, pending);
    // A wrong code leaves the enrollment pending.
    relay
        .expect_error(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: "123456".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::TotpNotValid,
        )
        .await;
    assert_eq!(status(&relay, &patient.token).await, pending);

    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: app(&enrollment).generate(now()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let on = TotpStatus {
        enabled: true,
        pending: false,
    };
    assert_eq!(status(&relay, &patient.token).await, on);
    // Another patient's status is their own.
    let other = relay.patient(&clinic, "alex@example.com").await;
    assert_eq!(status(&relay, &other.token).await, OFF);

    let response = relay.call(Method::DELETE, "/v1/totp", t, NONE).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(status(&relay, &patient.token).await, OFF);
}

#[tokio::test]
async fn totp_status_needs_a_session_but_no_step_up() {
    let relay = Relay::start().await;
    relay
        .expect_error(
            Method::GET,
            "/v1/totp",
            None,
            NONE,
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
        )
        .await;
    relay
        .expect_error(
            Method::GET,
            "/v1/totp",
            Some("not-a-session"),
            NONE,
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
        )
        .await;

    // A session signed in longer ago than the step-up window: turning TOTP
    // off is refused, reading whether it is on is not.
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let db = relay.db().await;
    let aged =
        sqlx::query("UPDATE sessions SET created_at = created_at - $1 WHERE account_id = $2")
            .bind(ward_relay::extract::STEP_UP_MS + 60_000)
            .bind(&patient.id)
            .execute(&db)
            .await
            .unwrap();
    assert_eq!(aged.rows_affected(), 1);
    relay
        .expect_error(
            Method::DELETE,
            "/v1/totp",
            Some(&patient.token),
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    assert_eq!(status(&relay, &patient.token).await, OFF);
}

#[tokio::test]
async fn fallback_sign_in_needs_the_sent_code_and_a_fresh_totp_code() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());

    let enrollment: TotpEnrollment = relay
        .expect(Method::POST, "/v1/totp/enroll", t, NONE, StatusCode::OK)
        .await;
    assert!(
        enrollment.otpauth_uri.starts_with("otpauth://totp/Ward:"),
        "{}",
        enrollment.otpauth_uri
    );
    let app = app(&enrollment);
    relay
        .expect_error(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: "123456".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::TotpNotValid,
        )
        .await;
    let confirm_code = app.generate(now());
    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: confirm_code.clone(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Contact typed differently from the invite: still found.
    let seen = relay.codes_for("sam@example.com").len();
    let login_id = support::code_start(&relay, "  SAM@example.com ").await;
    let sent = relay.next_code_for("sam@example.com", seen).await;
    // The code used to confirm is spent; the next step's code works.
    let spent = CodeLoginVerify {
        login_id: login_id.clone(),
        code: sent.clone(),
        totp: confirm_code,
    };
    let error = relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&spent),
            StatusCode::BAD_REQUEST,
            ErrorCode::TotpNotValid,
        )
        .await;
    assert!(error.error.message.contains("used already"));
    // That wrong guess used up the sign-in: the same code is no good now.
    let retry = CodeLoginVerify {
        login_id: login_id.clone(),
        code: sent,
        totp: app.generate(now() + 30),
    };
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&retry),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
    let seen = relay.codes_for("sam@example.com").len();
    let login_id = support::code_start(&relay, "sam@example.com").await;
    let fresh = CodeLoginVerify {
        login_id: login_id.clone(),
        code: relay.next_code_for("sam@example.com", seen).await,
        totp: app.generate(now() + 30),
    };
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&fresh),
            StatusCode::OK,
        )
        .await;
    assert_eq!(session.account_id, patient.id);
    // The same sign-in cannot be replayed.
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&fresh),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;

    // Turning TOTP off needs a recent sign-in, which this session is.
    let response = relay
        .call(Method::DELETE, "/v1/totp", Some(&session.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_unknown_contact_looks_the_same_and_never_signs_in() {
    let relay = Relay::start().await;
    let known = support::code_start(&relay, "nobody@example.com").await;
    assert!(known.starts_with("lgn_"));
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id: known,
                code: "000000".into(),
                totp: "000000".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
    assert!(
        !relay.data.path().join("dev-outbox.log").exists(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn without_totp_the_fallback_says_to_call_the_clinic() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    relay.patient(&clinic, "sam@example.com").await;
    let login_id = support::code_start(&relay, "sam@example.com").await;
    let error = relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id,
                code: relay.next_code_for("sam@example.com", 1).await,
                totp: "000000".into(),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::NoSecondFactor,
        )
        .await;
    assert!(error.error.message.contains("clinic"));
}

#[tokio::test]
async fn a_contact_cannot_be_flooded_with_codes() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    relay.patient(&clinic, "sam@example.com").await;
    let outbox = relay.data.path().join("dev-outbox.log");
    let sent_before = std::fs::read_to_string(&outbox).unwrap().lines().count();
    let mut refused = 0;
    for _ in 0..8 {
        let response = relay
            .call(
                Method::POST,
                "/v1/auth/code/start",
                None,
                Some(&CodeLoginStart {
                    contact: "sam@example.com".into(),
                }),
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            refused += 1;
        } else {
            assert_eq!(response.status(), StatusCode::OK);
        }
    }
    assert_eq!(refused, 3);
    // (Codes are sent in the background: give them time to land.)
    relay.next_code_for("sam@example.com", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // At most five codes went out in the hour.
    let sent = std::fs::read_to_string(&outbox).unwrap().lines().count() - sent_before;
    assert_eq!(sent, 5);
}

#[tokio::test]
async fn an_authenticator_app_ends_resumable_enrollment_and_the_first_passkey_exception() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite = relay.invite(&clinic, "sam@example.com").await;
    let patient = relay.enroll_session(&invite, "sam@example.com").await;
    let t = Some(patient.token.as_str());
    let enrollment: TotpEnrollment = relay
        .expect(Method::POST, "/v1/totp/enroll", t, NONE, StatusCode::OK)
        .await;
    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: app(&enrollment).generate(now()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // The account can sign in by itself now (code + app): the invite is
    // used, and would otherwise skip the app.
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&ward_proto::auth::EnrollStartRequest {
                invite_code: invite,
            }),
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
        )
        .await;
    // And a stale session's passkey would be a lasting way in: step-up.
    assert_eq!(relay.age_sessions(&patient.account_id).await, 1);
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
}

#[tokio::test]
async fn a_stale_session_cannot_confirm_or_disable_totp_and_each_change_is_in_the_history() {
    use ward_proto::account::{AccountEventKind, AccountHistory};
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());
    let enrollment: TotpEnrollment = relay
        .expect(Method::POST, "/v1/totp/enroll", t, NONE, StatusCode::OK)
        .await;

    // Stolen an hour later: the app it set up cannot be turned on...
    assert_eq!(relay.age_sessions(&patient.id).await, 1);
    relay
        .expect_error(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: app(&enrollment).generate(now()),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    // ...nor a new one set up.
    relay
        .expect_error(
            Method::POST,
            "/v1/totp/enroll",
            t,
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    assert_eq!(
        status(&relay, &patient.token).await,
        TotpStatus {
            enabled: false,
            pending: true
        }
    );

    // A fresh session turns it on; a stale one cannot turn it off.
    let db = relay.db().await;
    sqlx::query("UPDATE sessions SET created_at = $1 WHERE account_id = $2")
        .bind(i64::try_from(now() * 1000).unwrap())
        .bind(&patient.id)
        .execute(&db)
        .await
        .unwrap();
    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            t,
            Some(&TotpCode {
                code: app(&enrollment).generate(now()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(relay.age_sessions(&patient.id).await, 1);
    relay
        .expect_error(
            Method::DELETE,
            "/v1/totp",
            t,
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    sqlx::query("UPDATE sessions SET created_at = $1 WHERE account_id = $2")
        .bind(i64::try_from(now() * 1000).unwrap())
        .bind(&patient.id)
        .execute(&db)
        .await
        .unwrap();
    let response = relay.call(Method::DELETE, "/v1/totp", t, NONE).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let history: AccountHistory = relay.get_ok("/v1/account/history", t).await;
    let kinds: Vec<AccountEventKind> = history.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AccountEventKind::TotpDisabled,
            AccountEventKind::TotpEnabled,
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn,
        ]
    );
}
