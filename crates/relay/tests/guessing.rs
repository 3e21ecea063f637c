//! Guessing and flooding (issue 12 §3) over real HTTP: every guess is
//! counted before it is compared (20 parallel requests evaluate at most the
//! budget), the client address comes from `X-Forwarded-For` only behind a
//! trusted proxy, failures against one account never lock out another, and
//! code sends, caregiver invites and attachment storage are capped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay};
use totp_rs::{Algorithm, Secret, TOTP};
use ward_proto::Bytes;
use ward_proto::ErrorBody;
use ward_proto::ErrorCode;
use ward_proto::auth::{
    CaregiverInviteRequest, ClinicSetupRequest, CodeLoginStart, CodeLoginStarted, CodeLoginVerify,
    EnrollStartRequest, EnrollStarted, EnrollVerifyRequest, InviteCreated, KeyChallenge,
    KeyChallengeRequest, KeyLoginRequest, SessionCreated, TotpCode, TotpEnrollment,
};
use ward_proto::blobs::CreateUploadRequest;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts setting up an authenticator app for `account`: the app's generator.
async fn pending_app(relay: &Relay, account: &Account) -> TOTP {
    let enrollment: TotpEnrollment = relay
        .expect(
            Method::POST,
            "/v1/totp/enroll",
            Some(&account.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let secret = Secret::Encoded(enrollment.secret_base32)
        .to_bytes()
        .unwrap();
    TOTP::new(Algorithm::SHA1, 6, 0, 30, secret, None, String::new()).unwrap()
}

/// Sets up an authenticator app for `account`: its generator.
async fn app_for(relay: &Relay, account: &Account) -> TOTP {
    let app = pending_app(relay, account).await;
    let response = relay
        .call(
            Method::POST,
            "/v1/totp/confirm",
            Some(&account.token),
            Some(&TotpCode {
                code: app.generate(now()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app
}

/// A six-digit code that is none of `app`'s codes around now.
fn wrong_totp(app: &TOTP, n: u32) -> String {
    let valid: Vec<String> = [now() - 30, now(), now() + 30]
        .iter()
        .map(|t| app.generate(*t))
        .collect();
    (n..)
        .map(|i| format!("{:06}", (i * 7919) % 1_000_000))
        .find(|code| !valid.contains(code))
        .unwrap()
}

/// How many responses had each status.
fn tally(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn code_start(relay: &Relay, contact: &str) -> reqwest::Response {
    relay
        .call(
            Method::POST,
            "/v1/auth/code/start",
            None,
            Some(&CodeLoginStart {
                contact: contact.into(),
            }),
        )
        .await
}

async fn login_id(relay: &Relay, contact: &str) -> String {
    let response = code_start(relay, contact).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<CodeLoginStarted>().await.unwrap().login_id
}

/// `POST /v1/enroll/start` with `invite_code`, from `forwarded_for` if given.
async fn enroll_start(
    relay: &Relay,
    invite_code: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = relay
        .http
        .post(format!("{}/v1/enroll/start", relay.url))
        .json(&EnrollStartRequest {
            invite_code: invite_code.into(),
        });
    if let Some(addr) = forwarded_for {
        request = request.header("x-forwarded-for", addr);
    }
    request.send().await.unwrap()
}

/// Starts enrolling with `invite_code`, then asks for its code (as the app
/// does after "Yes, this is me"); the start's answer if it was refused,
/// else the ask's.
async fn ask_enrollment_code(relay: &Relay, invite_code: &str) -> reqwest::Response {
    let response = enroll_start(relay, invite_code, None).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let started: EnrollStarted = response.json().await.unwrap();
    relay.send_enrollment_code(&started.enrollment_id).await
}

// ---- 1. Every guess counted before it is compared ----

#[tokio::test]
async fn twenty_parallel_totp_confirm_guesses_evaluate_at_most_five() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let app = pending_app(&relay, &patient).await;
    let guesses = (0..20).map(|i| {
        let code = wrong_totp(&app, i);
        let token = patient.token.clone();
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/totp/confirm",
                    Some(&token),
                    Some(&TotpCode { code }),
                )
                .await
                .status()
        }
    });
    let statuses = join_all(guesses).await;
    let evaluated = statuses.len() - tally(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        evaluated <= 5,
        "{evaluated} of 20 guesses were compared: {statuses:?}"
    );
    // The right code as request 21 is refused too: the budget is spent.
    let error = relay
        .expect_error(
            Method::POST,
            "/v1/totp/confirm",
            Some(&patient.token),
            Some(&TotpCode {
                code: app.generate(now()),
            }),
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::LockedOut,
        )
        .await;
    assert!(error.error.retry_after_seconds.unwrap() > 0);
}

#[tokio::test]
async fn twenty_parallel_totp_guesses_on_one_emailed_code_evaluate_one() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let app = app_for(&relay, &patient).await;
    let seen = relay.codes_for("sam@example.com").len();
    let login = login_id(&relay, "sam@example.com").await;
    // Someone who has the emailed code (a read mailbox) guesses the app's.
    let emailed = relay.next_code_for("sam@example.com", seen).await;
    let guesses = (0..20).map(|i| {
        let request = CodeLoginVerify {
            login_id: login.clone(),
            code: emailed.clone(),
            totp: wrong_totp(&app, i),
        };
        let relay = &relay;
        async move {
            let response = relay
                .call(Method::POST, "/v1/auth/code/verify", None, Some(&request))
                .await;
            let status = response.status();
            (
                status,
                response.json::<ErrorBody>().await.unwrap().error.code,
            )
        }
    });
    let answers = join_all(guesses).await;
    let evaluated = answers
        .iter()
        .filter(|(_, code)| *code == ErrorCode::TotpNotValid)
        .count();
    assert_eq!(evaluated, 1, "one app guess per emailed code: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::BAD_REQUEST)
    );
}

#[tokio::test]
async fn twenty_parallel_guesses_at_an_emailed_or_enrollment_code_evaluate_at_most_five() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    app_for(&relay, &patient).await;
    let seen = relay.codes_for("sam@example.com").len();
    let login = login_id(&relay, "sam@example.com").await;
    let emailed = relay.next_code_for("sam@example.com", seen).await;
    let wrong = |i: u32| {
        let code = format!("{:06}", i * 1013);
        if code == emailed {
            "999999".to_owned()
        } else {
            code
        }
    };
    let guesses = (0..20).map(|i| {
        let request = CodeLoginVerify {
            login_id: login.clone(),
            code: wrong(i),
            totp: "000000".into(),
        };
        let relay = &relay;
        async move {
            relay
                .call(Method::POST, "/v1/auth/code/verify", None, Some(&request))
                .await
                .status()
        }
    });
    join_all(guesses).await;
    // The right code after twenty wrong ones: the sign-in is spent.
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id: login,
                code: emailed,
                totp: "000000".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;

    // The same for an enrollment's code.
    let invite = relay.invite(&clinic, "alex@example.com").await;
    let started = relay.start_enrollment(&invite).await;
    let sent = relay.last_code_for("alex@example.com");
    let guesses = (0..20).map(|i| {
        let code = format!("{:06}", i * 1013);
        let request = EnrollVerifyRequest {
            enrollment_id: started.enrollment_id.clone(),
            code: if code == sent { "999999".into() } else { code },
        };
        let relay = &relay;
        async move {
            relay
                .call(Method::POST, "/v1/enroll/verify", None, Some(&request))
                .await
                .status()
        }
    });
    join_all(guesses).await;
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: started.enrollment_id,
                code: sent,
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
}

#[tokio::test]
async fn twenty_parallel_invite_guesses_evaluate_at_most_ten() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite = relay.invite(&clinic, "sam@example.com").await;
    let guesses = (0..20).map(|i| {
        let relay = &relay;
        async move {
            enroll_start(relay, &format!("ZZZZZ-ZZZ{:02}", i), None)
                .await
                .status()
        }
    });
    let statuses = join_all(guesses).await;
    assert!(
        tally(&statuses, StatusCode::NOT_FOUND) <= 10,
        "{statuses:?}"
    );
    // The right invite as request 21: refused, the address's budget is spent.
    let response = enroll_start(&relay, &invite, None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn twenty_parallel_setup_code_guesses_evaluate_at_most_ten() {
    let relay = Relay::start().await;
    let guesses = (0..20).map(|i| {
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/clinic/setup",
                    None,
                    Some(&ClinicSetupRequest {
                        setup_code: format!("wrong-{i}"),
                        display_name: "Riverside Clinic".into(),
                    }),
                )
                .await
                .status()
        }
    });
    let statuses = join_all(guesses).await;
    assert!(
        tally(&statuses, StatusCode::FORBIDDEN) <= 10,
        "{statuses:?}"
    );
    relay
        .expect_error(
            Method::POST,
            "/v1/clinic/setup",
            None,
            Some(&ClinicSetupRequest {
                setup_code: relay.setup_code(),
                display_name: "Riverside Clinic".into(),
            }),
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::LockedOut,
        )
        .await;
}

#[tokio::test]
async fn forged_key_logins_are_slowed_but_never_lock_out_the_real_key() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let challenges = join_all((0..30).map(|_| {
        let relay = &relay;
        let account_id = clinic.id.clone();
        async move {
            relay
                .expect::<_, KeyChallenge>(
                    Method::POST,
                    "/v1/auth/key/challenge",
                    None,
                    Some(&KeyChallengeRequest { account_id }),
                    StatusCode::OK,
                )
                .await
        }
    }))
    .await;
    let forged = challenges.into_iter().map(|challenge| {
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/auth/key/login",
                    None,
                    Some(&KeyLoginRequest {
                        challenge_id: challenge.challenge_id,
                        signature: Bytes(vec![7; 64]),
                    }),
                )
                .await
                .status()
        }
    });
    let statuses = join_all(forged).await;
    assert!(
        tally(&statuses, StatusCode::UNAUTHORIZED) <= 20,
        "{statuses:?}"
    );
    assert!(tally(&statuses, StatusCode::TOO_MANY_REQUESTS) >= 10);
    // The clinic agent, from the same address, still signs in.
    let response = relay.key_login(&clinic.keys).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- 2. Client address and what is locked ----

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let relay = Relay::start_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let clinic = relay.clinic().await;
    let invite = relay.invite(&clinic, "sam@example.com").await;
    // One client behind the proxy spends its budget guessing invites (its
    // own forged entries on the left are not believed)...
    for i in 0..12 {
        enroll_start(
            &relay,
            &format!("ZZZZZ-ZZZ{i:02}"),
            Some(&format!("10.9.9.{i}, 203.0.113.1")),
        )
        .await;
    }
    let response = enroll_start(&relay, "ZZZZZ-ZZZZZ", Some("203.0.113.1")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // ...and another client behind the same proxy is not held up.
    let response = enroll_start(&relay, "ZZZZZ-ZZZZZ", Some("203.0.113.2")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = enroll_start(&relay, &invite, Some("203.0.113.2")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let invite = relay.invite(&clinic, "sam@example.com").await;
    // A new made-up address on every request: all counted as the peer's.
    for i in 0..10 {
        let response = enroll_start(&relay, "ZZZZZ-ZZZZZ", Some(&format!("198.51.100.{i}"))).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "guess {i}");
    }
    let response = enroll_start(&relay, &invite, Some("198.51.100.200")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn metrics_stay_loopback_only_behind_a_proxy() {
    let metrics = |relay: &Relay, forwarded_for: Option<&'static str>| {
        let mut request = relay.http.get(format!("{}/metrics", relay.url));
        if let Some(addr) = forwarded_for {
            request = request.header("x-forwarded-for", addr);
        }
        async move { request.send().await.unwrap().status() }
    };
    // No trusted proxy: a forwarded request came through a proxy nobody
    // configured (every client would look like loopback): refused.
    let relay = Relay::start().await;
    assert_eq!(metrics(&relay, None).await, StatusCode::OK);
    assert_eq!(
        metrics(&relay, Some("203.0.113.9")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        metrics(&relay, Some("127.0.0.1")).await,
        StatusCode::NOT_FOUND
    );
    // A trusted proxy: the real client decides.
    let relay = Relay::start_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    assert_eq!(metrics(&relay, None).await, StatusCode::OK);
    assert_eq!(
        metrics(&relay, Some("203.0.113.9")).await,
        StatusCode::NOT_FOUND
    );
    // A client's own claim to be loopback, with the proxy's entry after it.
    assert_eq!(
        metrics(&relay, Some("127.0.0.1, 203.0.113.9")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(metrics(&relay, Some("127.0.0.1")).await, StatusCode::OK);
}

#[tokio::test]
async fn hammering_one_account_does_not_lock_out_another_from_the_same_address() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let a = relay.patient(&clinic, "a@example.com").await;
    let b = relay.patient(&clinic, "b@example.com").await;
    let b_app = app_for(&relay, &b).await;
    app_for(&relay, &a).await;
    // From this one address: codes requested for A until refused, and
    // wrong codes thrown at A's sign-ins.
    let mut logins = Vec::new();
    for _ in 0..8 {
        let response = code_start(&relay, "a@example.com").await;
        if response.status() == StatusCode::OK {
            logins.push(response.json::<CodeLoginStarted>().await.unwrap().login_id);
        }
    }
    assert_eq!(logins.len(), 5);
    for login in &logins {
        for guess in 0..6 {
            relay
                .call(
                    Method::POST,
                    "/v1/auth/code/verify",
                    None,
                    Some(&CodeLoginVerify {
                        login_id: login.clone(),
                        code: format!("{guess:06}"),
                        totp: "000000".into(),
                    }),
                )
                .await;
        }
    }
    // A's contact is capped, with a way out that names the passkey.
    let response = code_start(&relay, "a@example.com").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 3600);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, ErrorCode::TooManyCodes);
    assert!(
        error
            .error
            .message
            .contains("Too many codes were sent to this address")
            && error.error.message.contains("passkey"),
        "{}",
        error.error.message
    );
    // B, from the same address, signs in as usual.
    let seen = relay.codes_for("b@example.com").len();
    let login = login_id(&relay, "b@example.com").await;
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id: login,
                code: relay.next_code_for("b@example.com", seen).await,
                totp: b_app.generate(now() + 30),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(session.account_id, b.id);
    drop(a);
}

// ---- 3. Flooding ----

#[tokio::test]
async fn twenty_parallel_code_starts_send_at_most_five_and_look_the_same_for_strangers() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    relay.patient(&clinic, "sam@example.com").await;
    let before = relay.codes_for("sam@example.com").len();
    let burst = |contact: &'static str| {
        let relay = &relay;
        join_all((0..20).map(move |_| async move { code_start(relay, contact).await.status() }))
    };
    let known = burst("sam@example.com").await;
    let unknown = burst("nobody@example.com").await;
    assert_eq!(tally(&known, StatusCode::OK), 5, "{known:?}");
    assert_eq!(tally(&known, StatusCode::TOO_MANY_REQUESTS), 15);
    // The same answers for a contact without an account: the cap reveals
    // nothing.
    assert_eq!(tally(&unknown, StatusCode::OK), 5, "{unknown:?}");
    assert_eq!(tally(&unknown, StatusCode::TOO_MANY_REQUESTS), 15);
    relay.next_code_for("sam@example.com", before + 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(relay.codes_for("sam@example.com").len() - before, 5);
    assert!(relay.codes_for("nobody@example.com").is_empty());
}

async fn caregiver_invite(relay: &Relay, patient: &Account, contact: &str) -> reqwest::Response {
    relay
        .call(
            Method::POST,
            "/v1/caregivers/invites",
            Some(&patient.token),
            Some(&CaregiverInviteRequest {
                display_name: "Dana".into(),
                contact: contact.into(),
                relationship: None,
                consent: support::caregiver_terms(),
            }),
        )
        .await
}

#[tokio::test]
async fn caregiver_invites_are_capped_per_patient_pending_and_per_day() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let statuses = join_all((0..20).map(|i| {
        let relay = &relay;
        let patient = &patient;
        async move {
            caregiver_invite(relay, patient, &format!("victim{i}@example.com"))
                .await
                .status()
        }
    }))
    .await;
    assert_eq!(tally(&statuses, StatusCode::CREATED), 5, "{statuses:?}");
    let response = caregiver_invite(&relay, &patient, "x@example.com").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, ErrorCode::TooManyInvites);
    assert!(
        error.error.message.contains("waiting"),
        "{}",
        error.error.message
    );
    // Another patient is not affected.
    let other = relay.patient(&clinic, "alex@example.com").await;
    assert_eq!(
        caregiver_invite(&relay, &other, "y@example.com")
            .await
            .status(),
        StatusCode::CREATED
    );
    // Used invites are not pending, but still count for the day.
    sqlx::query("UPDATE invites SET used_at = 1 WHERE for_patient = $1")
        .bind(&patient.id)
        .execute(&relay.db().await)
        .await
        .unwrap();
    for i in 0..5 {
        let response = caregiver_invite(&relay, &patient, &format!("z{i}@example.com")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "invite {i}");
    }
    sqlx::query("UPDATE invites SET used_at = 1 WHERE for_patient = $1")
        .bind(&patient.id)
        .execute(&relay.db().await)
        .await
        .unwrap();
    let response = caregiver_invite(&relay, &patient, "late@example.com").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: ErrorBody = response.json().await.unwrap();
    assert!(
        error.error.message.contains("last day"),
        "{}",
        error.error.message
    );
}

#[tokio::test]
async fn caregiver_invites_cannot_flood_an_address_with_codes() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    // Five invites, all to one victim, each started several times at once.
    let mut invites = Vec::new();
    for _ in 0..5 {
        let invite: InviteCreated = caregiver_invite(&relay, &patient, "victim@example.com")
            .await
            .json()
            .await
            .unwrap();
        invites.push(invite.invite_code);
    }
    let starts = invites.iter().flat_map(|code| {
        let relay = &relay;
        (0..4).map(move |_| async move { ask_enrollment_code(relay, code).await.status() })
    });
    let statuses = join_all(starts).await;
    assert_eq!(tally(&statuses, StatusCode::NO_CONTENT), 5, "{statuses:?}");
    assert_eq!(relay.codes_for("victim@example.com").len(), 5);
}

#[tokio::test]
async fn codes_for_one_patients_invites_are_capped_per_inviter() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let mut invites = Vec::new();
    for i in 0..5 {
        let invite: InviteCreated =
            caregiver_invite(&relay, &patient, &format!("c{i}@example.com"))
                .await
                .json()
                .await
                .unwrap();
        invites.push(invite.invite_code);
    }
    // Ten codes a day for one patient's invites, whatever the contacts.
    let mut sent = 0;
    for round in 0..3 {
        for code in &invites {
            let response = ask_enrollment_code(&relay, code).await;
            if response.status() == StatusCode::NO_CONTENT {
                sent += 1;
            } else {
                let error: ErrorBody = response.json().await.unwrap();
                assert_eq!(error.error.code, ErrorCode::TooManyCodes, "round {round}");
            }
        }
    }
    assert_eq!(sent, 10);
}

#[tokio::test]
async fn the_attachment_quota_is_shared_by_a_patient_and_their_caregivers() {
    let relay = Relay::start_with(|config| config.attachment_quota_bytes = 1000).await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let invite: InviteCreated = caregiver_invite(&relay, &patient, "dana@example.com")
        .await
        .json()
        .await
        .unwrap();
    let caregiver = relay.enroll(&invite.invite_code, "dana@example.com").await;
    let upload = |account: &Account, size: u64| {
        let token = account.token.clone();
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/uploads",
                    Some(&token),
                    Some(&CreateUploadRequest {
                        size,
                        part_count: 1,
                    }),
                )
                .await
        }
    };
    assert_eq!(upload(&patient, 600).await.status(), StatusCode::CREATED);
    // The caregiver the patient invited shares the patient's storage.
    let response = upload(&caregiver, 600).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, ErrorCode::QuotaExceeded);
    assert_eq!(upload(&caregiver, 400).await.status(), StatusCode::CREATED);
    assert_eq!(
        upload(&patient, 1).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Another patient has their own.
    let other = relay.patient(&clinic, "alex@example.com").await;
    assert_eq!(upload(&other, 1000).await.status(), StatusCode::CREATED);
    // 20 parallel uploads of 100 bytes, half by a patient and half by
    // their caregiver: the 1000 bytes they share hold exactly ten.
    let fresh = relay.patient(&clinic, "kim@example.com").await;
    let invite: InviteCreated = caregiver_invite(&relay, &fresh, "lee@example.com")
        .await
        .json()
        .await
        .unwrap();
    let helper = relay.enroll(&invite.invite_code, "lee@example.com").await;
    let racing = (0..20).map(|i| upload(if i % 2 == 0 { &fresh } else { &helper }, 100));
    let created = join_all(racing)
        .await
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(
        created, 10,
        "the shared 1000 bytes hold ten 100-byte uploads"
    );
}
