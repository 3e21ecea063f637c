//! The access log (issue 15): each account's hash-chained record of
//! sign-ins (with a coarse device and network, never an address), failed
//! sign-ins, sign-outs, and, in a patient's log, a caregiver accepting,
//! reading and sending, and attachments downloaded by others; served to
//! the account and to the clinic (for an audit), and verifiable by both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode, header};
use support::{Account, NONE, Relay, blobs, code_start, totp_on, unix_now};
use ward_proto::ErrorCode;
use ward_proto::account::{
    AccountEvent, AccountEventKind, AccountHistory, SignInDetail, SignInMethod, ThreadActivity,
};
use ward_proto::auth::{CodeLoginVerify, SessionCreated};
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::threads::Category;
use ward_seal::account_log::{self, LogEntry};
use ward_seal::thread_key;

const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

async fn log_of(relay: &Relay, token: &str, path: &str) -> Vec<AccountEvent> {
    let history: AccountHistory = relay
        .expect(Method::GET, path, Some(token), NONE, StatusCode::OK)
        .await;
    history.events
}

/// `events` as the log's entries, for `account_log::verify`.
fn entries(events: &[AccountEvent]) -> Vec<LogEntry> {
    events
        .iter()
        .map(|e| LogEntry {
            seq: e.seq,
            kind: e.kind.name().to_owned(),
            at_ms: e.at_ms,
            session_id: e.session_id.clone(),
            detail: e.detail.clone(),
            hash: e.hash.0.as_slice().try_into().unwrap(),
        })
        .collect()
}

/// Recomputes every link of `events` (newest first), as the app does.
fn verify(events: &[AccountEvent]) -> account_log::Verified {
    account_log::verify(&entries(events), None)
        .unwrap()
        .unwrap()
}

fn sign_in_detail(event: &AccountEvent) -> SignInDetail {
    serde_json::from_str(event.detail.as_deref().unwrap()).unwrap()
}

fn activity(event: &AccountEvent) -> ThreadActivity {
    serde_json::from_str(event.detail.as_deref().unwrap()).unwrap()
}

/// `POST /v1/auth/code/verify` from Chrome on Android.
async fn code_verify(relay: &Relay, request: &CodeLoginVerify) -> reqwest::Response {
    relay
        .http
        .post(format!("{}/v1/auth/code/verify", relay.url))
        .header(header::USER_AGENT, ANDROID_CHROME)
        .json(request)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_ins_failures_and_sign_outs_are_logged_with_device_and_network_and_the_chain_verifies()
{
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let contact = "sam@example.com";
    let sam = relay.patient(&clinic, contact).await;
    let (_, _, app) = totp_on(&relay, &sam.token).await;

    // Three wrong emailed codes on one sign-in: each is a failed sign-in.
    // The code goes out in the background: wait for it, not the last one.
    let seen = relay.codes_for(contact).len();
    let login_id = code_start(&relay, contact).await;
    let right = relay.next_code_for(contact, seen).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let response = code_verify(
            &relay,
            &CodeLoginVerify {
                login_id: login_id.clone(),
                code: wrong.into(),
                totp: app.generate(unix_now()),
            },
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Failures are written in the background (the refusal's timing must not
    // depend on them): wait until all three are in.
    for _ in 0..100 {
        let events = log_of(&relay, &sam.token, "/v1/account/history").await;
        let failed = events
            .iter()
            .filter(|e| e.kind == AccountEventKind::SignInFailed)
            .count();
        if failed == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Then the right codes, from a kind of device Sam never used.
    let seen = relay.codes_for(contact).len();
    let login_id = code_start(&relay, contact).await;
    let code = relay.next_code_for(contact, seen).await;
    let response = code_verify(
        &relay,
        &CodeLoginVerify {
            login_id,
            code,
            // The app's next code: confirming it used the current one.
            totp: app.generate(unix_now() + 30),
        },
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let phone: SessionCreated = response.json().await.unwrap();
    let response = relay
        .call(Method::POST, "/v1/auth/logout", Some(&phone.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let events = log_of(&relay, &sam.token, "/v1/account/history").await;
    let kinds: Vec<AccountEventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds[..6],
        [
            AccountEventKind::SignedOut,
            AccountEventKind::SignedIn,
            AccountEventKind::SignInFailed,
            AccountEventKind::SignInFailed,
            AccountEventKind::SignInFailed,
            AccountEventKind::TotpEnabled,
        ]
    );
    let enrolled = events.last().unwrap();
    assert_eq!(enrolled.kind, AccountEventKind::SignedIn);
    assert_eq!(
        sign_in_detail(enrolled),
        SignInDetail {
            method: SignInMethod::Invite,
            device: "an unknown browser".into(),
            network: "127.0.0.0/24".into(),
            new_device: false,
        }
    );
    let on_phone = sign_in_detail(&events[1]);
    assert_eq!(on_phone.method, SignInMethod::Code);
    assert_eq!(on_phone.device, "Chrome on Android");
    assert!(on_phone.new_device, "{on_phone:?}");
    let failed = sign_in_detail(&events[2]);
    assert_eq!(failed.method, SignInMethod::Code);
    assert_eq!(failed.device, "Chrome on Android");
    // Signed out: the session ended is the phone's.
    assert_eq!(events[0].session_id, events[1].session_id);
    // No full address, no agent string anywhere in the log.
    for event in &events {
        let detail = event.detail.as_deref().unwrap_or("");
        assert!(!detail.contains("127.0.0.1"), "{detail}");
        assert!(!detail.contains("Mozilla"), "{detail}");
    }

    let verified = verify(&events);
    assert!(verified.from_start);
    assert_eq!(verified.head.seq, events[0].seq);

    // The clinic agent signing in again from the same kind of device: not new.
    let response = relay.key_login(&clinic.keys).await;
    assert_eq!(response.status(), StatusCode::OK);
    let clinic_log = log_of(&relay, &clinic.token, "/v1/account/history").await;
    assert_eq!(clinic_log[0].kind, AccountEventKind::SignedIn);
    let again = sign_in_detail(&clinic_log[0]);
    assert_eq!(again.method, SignInMethod::AccountKey);
    assert!(!again.new_device);
    verify(&clinic_log);
}

/// Sam, the clinic, Dana (Sam's caregiver) and a thread Sam shared with her.
struct Shared {
    relay: Relay,
    clinic: Account,
    sam: Account,
    dana: Account,
    thread_id: String,
    key: thread_key::ThreadKey,
}

async fn shared() -> Shared {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    let (thread, key) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Refill)
        .await;
    let response = relay
        .share_thread(&sam, &dana, &thread.thread_id, &key)
        .await;
    assert!(response.status().is_success());
    Shared {
        relay,
        clinic,
        sam,
        dana,
        thread_id: thread.thread_id,
        key,
    }
}

#[tokio::test]
async fn a_caregivers_reads_sends_and_downloads_are_in_the_patients_log_which_the_clinic_audits() {
    let Shared {
        relay,
        clinic,
        sam,
        dana,
        thread_id,
        key,
    } = shared().await;
    relay
        .send_ok(&sam, &key, &thread_id, 0, "m-sam", "Refill please")
        .await;
    // The clinic answers with a file; Dana, then Sam, download it.
    let file = blobs::upload_file(&relay, &clinic, &blobs::plaintext(1000), 600, "labs.pdf").await;
    let blob_id = file.blob_id.clone();
    blobs::post_with_attachments(
        &relay,
        &clinic,
        &key,
        &thread_id,
        "m-labs",
        "Labs",
        vec![file],
    )
    .await;
    blobs::download(&relay, &dana.token, &blob_id).await;
    blobs::download(&relay, &sam.token, &blob_id).await;
    // Dana reads up to the clinic's message, and sends for Sam.
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{thread_id}/receipts"),
            Some(&dana.token),
            Some(&ReceiptRequest {
                kind: ReceiptKind::Read,
                up_to_seq: 2,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    relay
        .send_ok(&dana, &key, &thread_id, 0, "m-dana", "Dana for Sam: thanks")
        .await;
    // Sam's and the clinic's own reads are not caregiver activity.
    for reader in [&sam, &clinic] {
        let response = relay
            .call(
                Method::POST,
                &format!("/v1/threads/{thread_id}/receipts"),
                Some(&reader.token),
                Some(&ReceiptRequest {
                    kind: ReceiptKind::Read,
                    up_to_seq: 3,
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    let events = log_of(&relay, &sam.token, "/v1/account/history").await;
    let newest: Vec<AccountEventKind> = events.iter().take(4).map(|e| e.kind).collect();
    assert_eq!(
        newest,
        [
            AccountEventKind::CaregiverSent,
            AccountEventKind::CaregiverRead,
            AccountEventKind::AttachmentDownloaded,
            AccountEventKind::ThreadShared,
        ]
    );
    let by_dana = |seq| ThreadActivity {
        by: dana.id.clone(),
        thread_id: thread_id.clone(),
        seq,
    };
    assert_eq!(activity(&events[0]), by_dana(Some(3)));
    assert_eq!(activity(&events[1]), by_dana(Some(2)));
    assert_eq!(activity(&events[2]), by_dana(None));
    assert!(
        events
            .iter()
            .any(|e| e.kind == AccountEventKind::CaregiverAccepted
                && e.detail.as_deref() == Some(dana.id.as_str()))
    );
    verify(&events);

    // The clinic reads the same log for an audit; nobody else can.
    let audited = log_of(
        &relay,
        &clinic.token,
        &format!("/v1/accounts/{}/history", sam.id),
    )
    .await;
    assert_eq!(audited, events);
    let refused = relay
        .expect_error(
            Method::GET,
            &format!("/v1/accounts/{}/history", sam.id),
            Some(&dana.token),
            NONE,
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    assert!(!refused.error.message.contains(&sam.id));
    relay
        .expect_error(
            Method::GET,
            "/v1/accounts/acc_nobody/history",
            Some(&clinic.token),
            NONE,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
}

/// A log whose stored row was changed behind the relay's back (the
/// append-only trigger dropped, as someone with the database could) no
/// longer verifies.
#[tokio::test]
async fn a_log_changed_in_the_database_fails_verification() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let db = relay.db().await;
    let drop_trigger = if support::on_postgres() {
        "DROP TRIGGER account_events_no_update ON account_events"
    } else {
        "DROP TRIGGER account_events_no_update"
    };
    sqlx::query(drop_trigger).execute(&db).await.unwrap();
    sqlx::query(
        "UPDATE account_events SET detail = 'nothing to see' WHERE account_id = $1 AND seq = 0",
    )
    .bind(&sam.id)
    .execute(&db)
    .await
    .unwrap();
    let events = log_of(&relay, &sam.token, "/v1/account/history").await;
    assert!(account_log::verify(&entries(&events), None).is_err());
}

/// The relay never sees a recovery code: the app reports using it, and the
/// access log has it once per session, with that session.
#[tokio::test]
async fn a_recovery_code_used_is_in_the_log_once_per_session() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    for _ in 0..2 {
        let response = relay
            .call(
                Method::POST,
                "/v1/account/recovery-code-used",
                Some(&sam.token),
                NONE,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let events = log_of(&relay, &sam.token, "/v1/account/history").await;
    let used: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AccountEventKind::RecoveryCodeUsed)
        .collect();
    assert_eq!(used.len(), 1, "{events:?}");
    assert!(used[0].session_id.is_some());
    assert_eq!(used[0].detail, None);
    // Without a session, nothing.
    let anonymous = relay
        .call(Method::POST, "/v1/account/recovery-code-used", None, NONE)
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// The log is served a page at a time, newest first: each page's
/// `earlier_cursor` asks for the one before, the pages join into the whole
/// chain, and the last has no cursor. The clinic's audit pages the same.
#[tokio::test]
async fn the_log_pages_back_to_its_first_entry_as_one_chain() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let reported = relay
        .call(
            Method::POST,
            "/v1/account/recovery-code-used",
            Some(&sam.token),
            NONE,
        )
        .await;
    assert_eq!(reported.status(), StatusCode::NO_CONTENT);
    let whole = log_of(&relay, &sam.token, "/v1/account/history").await;
    assert!(whole.len() >= 3, "{whole:?}");
    let audited = format!("/v1/accounts/{}/history", sam.id);
    for (token, base) in [
        (&sam.token, "/v1/account/history"),
        (&clinic.token, audited.as_str()),
    ] {
        let mut paged: Vec<AccountEvent> = Vec::new();
        let mut path = format!("{base}?limit=2");
        loop {
            let page: AccountHistory = relay
                .expect(Method::GET, &path, Some(token), NONE, StatusCode::OK)
                .await;
            assert!(page.events.len() <= 2);
            paged.extend(page.events);
            match page.earlier_cursor {
                Some(before) => {
                    assert_eq!(Some(before), paged.last().map(|e| e.seq));
                    path = format!("{base}?before={before}&limit=2");
                }
                None => break,
            }
        }
        assert_eq!(paged, whole);
        assert!(verify(&paged).from_start);
    }
    // Before the first entry: nothing, and no cursor.
    let nothing: AccountHistory = relay
        .expect(
            Method::GET,
            "/v1/account/history?before=0",
            Some(&sam.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert!(nothing.events.is_empty() && nothing.earlier_cursor.is_none());
    for bad in ["?before=x", "?limit=-1", "?since=3"] {
        relay
            .expect_error(
                Method::GET,
                &format!("/v1/account/history{bad}"),
                Some(&sam.token),
                NONE,
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidQuery,
            )
            .await;
    }
}
