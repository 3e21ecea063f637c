//! Key authenticity on the relay (issue 12, §1): changing a bundle or a
//! vault needs a recent sign-in; every bundle is kept in an append-only,
//! hash-chained history served to whoever may fetch the bundle; every
//! security change is in the account's own history; thread mates hear of a
//! key change live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay, events};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, AccountHistory};
use ward_proto::auth::{SessionCreated, SessionList};
use ward_proto::events::Event;
use ward_proto::keys::{BundleResponse, KeyHistoryResponse, PublishBundleRequest};
use ward_proto::threads::Category;
use ward_proto::vault::{PutVaultRequest, VaultStored};
use ward_seal::key_history::{self, HistoryEntry};
use ward_seal::keys::AccountKeys;
use ward_seal::random::os_rng;

fn fresh_keys(account_id: &str) -> AccountKeys {
    AccountKeys::generate(account_id, 1_767_225_600, &mut os_rng()).unwrap()
}

fn publish_request(keys: &AccountKeys) -> PublishBundleRequest {
    PublishBundleRequest {
        bundle: Bytes(keys.bundle().to_bytes()),
    }
}

async fn history(relay: &Relay, token: &str, account_id: &str) -> KeyHistoryResponse {
    relay
        .get_ok(&format!("/v1/keys/{account_id}/history"), Some(token))
        .await
}

fn entries(response: &KeyHistoryResponse) -> Vec<HistoryEntry> {
    response
        .entries
        .iter()
        .map(|e| HistoryEntry {
            seq: e.seq,
            bundle: e.bundle.0.clone(),
            hash: e.hash.0.as_slice().try_into().unwrap(),
        })
        .collect()
}

async fn kinds(relay: &Relay, token: &str) -> Vec<AccountEventKind> {
    let history: AccountHistory = relay.get_ok("/v1/account/history", Some(token)).await;
    history.events.iter().map(|e| e.kind).collect()
}

/// The clinic signs in again by its account key: a fresh session.
async fn clinic_sign_in(relay: &Relay, clinic: &Account) -> String {
    let response = relay.key_login(&clinic.keys).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<SessionCreated>().await.unwrap().token
}

#[tokio::test]
async fn a_stale_session_cannot_replace_the_bundle_or_the_vault() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let t = Some(patient.token.as_str());
    let vault = PutVaultRequest {
        expected_version: 0,
        vault: Bytes(vec![1; 64]),
    };
    let _: VaultStored = relay
        .expect(Method::PUT, "/v1/vault", t, Some(&vault), StatusCode::OK)
        .await;

    // A session stolen an hour after it signed in.
    assert_eq!(relay.age_sessions(&patient.id).await, 1);
    let thief = fresh_keys(&patient.id);
    relay
        .expect_error(
            Method::PUT,
            "/v1/keys/me",
            t,
            Some(&publish_request(&thief)),
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    relay
        .expect_error(
            Method::PUT,
            "/v1/vault",
            t,
            Some(&PutVaultRequest {
                expected_version: 1,
                vault: Bytes(vec![2; 64]),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    // Nothing changed: the same bundle, one history entry, the old vault.
    let served: BundleResponse = relay.get_ok(&format!("/v1/keys/{}", patient.id), t).await;
    assert_eq!(served.bundle.0, patient.keys.bundle().to_bytes());
    assert_eq!(served.seq, 0);
    assert_eq!(
        history(&relay, &patient.token, &patient.id)
            .await
            .entries
            .len(),
        1
    );
    let stored: ward_proto::vault::VaultResponse = relay.get_ok("/v1/vault", t).await;
    assert_eq!((stored.version, stored.vault.0), (1, vec![1; 64]));
    // Neither refusal is in the account's history; what happened is.
    assert_eq!(
        kinds(&relay, &patient.token).await,
        [
            AccountEventKind::VaultChanged,
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn,
        ]
    );

    // A fresh sign-in may (the clinic's, by its account key).
    let fresh = clinic_sign_in(&relay, &clinic).await;
    let new_keys = fresh_keys(&clinic.id);
    let response = relay
        .call(
            Method::PUT,
            "/v1/keys/me",
            Some(&fresh),
            Some(&publish_request(&new_keys)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let history: AccountHistory = relay.get_ok("/v1/account/history", Some(&fresh)).await;
    let changed = &history.events[0];
    assert_eq!(changed.kind, AccountEventKind::BundleChanged);
    let sessions: SessionList = relay.get_ok("/v1/sessions", Some(&fresh)).await;
    let current = sessions.sessions.iter().find(|s| s.current).unwrap();
    assert_eq!(
        changed.session_id.as_deref(),
        Some(current.session_id.as_str())
    );
}

#[tokio::test]
async fn the_key_history_is_append_only_hash_chained_and_served_to_thread_mates_only() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let stranger = relay.patient(&clinic, "kim@example.com").await;
    let (_thread, _) = relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;
    let c = Some(clinic.token.as_str());

    // The same bundle again changes nothing.
    relay.publish(&patient).await;
    let first = history(&relay, &clinic.token, &patient.id).await;
    assert_eq!(first.entries.len(), 1);
    let pinned = key_history::verify(&patient.id, &entries(&first))
        .unwrap()
        .head();

    // A different one appends, chained to the first.
    let next = fresh_keys(&patient.id);
    let response = relay
        .call(
            Method::PUT,
            "/v1/keys/me",
            Some(&patient.token),
            Some(&publish_request(&next)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let second = history(&relay, &clinic.token, &patient.id).await;
    assert_eq!(second.entries.len(), 2);
    assert_eq!(second.entries[0], first.entries[0]);
    let verified = key_history::verify(&patient.id, &entries(&second)).unwrap();
    assert!(verified.extends(&pinned));
    assert_eq!(verified.current_bytes(), next.bundle().to_bytes());
    let served: BundleResponse = relay.get_ok(&format!("/v1/keys/{}", patient.id), c).await;
    assert_eq!(served.seq, 1);
    assert_eq!(served.head.0, verified.head().hash);
    assert_eq!(served.bundle.0, next.bundle().to_bytes());

    // Visible exactly where the bundle is: not to a patient sharing no thread.
    relay
        .expect_not_found(
            &format!("/v1/keys/{}/history", patient.id),
            Some(&stranger.token),
        )
        .await;
    relay
        .expect_not_found(&format!("/v1/keys/{}", patient.id), Some(&stranger.token))
        .await;
    // The clinic's is everyone's to see.
    let clinic_history = history(&relay, &stranger.token, &clinic.id).await;
    assert_eq!(clinic_history.entries.len(), 1);

    // The database refuses to rewrite either history.
    let db = relay.db().await;
    for sql in [
        "UPDATE bundle_history SET published_at = published_at + 1 WHERE seq = 0",
        "DELETE FROM bundle_history",
        "UPDATE account_events SET kind = 'signed_in'",
        "DELETE FROM account_events",
    ] {
        let error = sqlx::query(sql).execute(&db).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(history(&relay, &clinic.token, &patient.id).await, second);
    assert_eq!(
        kinds(&relay, &patient.token).await,
        [
            AccountEventKind::BundleChanged,
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn,
        ]
    );
    // Each account event's hash chains to the one before.
    let hashes: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM account_events WHERE account_id = $1 ORDER BY seq")
            .bind(&patient.id)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(hashes.len(), 3);
    assert!(hashes.iter().all(|(_, h)| h.len() == 32));
    assert_ne!(hashes[0].1, hashes[1].1);
}

#[tokio::test]
async fn a_thread_mate_hears_of_a_key_change_and_a_stranger_does_not() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let stranger = relay.patient(&clinic, "kim@example.com").await;
    relay
        .thread_with_key(&patient, clinic.keys.bundle(), Category::Question)
        .await;
    let mut mate = events::connect(&relay, &clinic.id, &clinic.token).await;
    let mut other = events::connect(&relay, &stranger.id, &stranger.token).await;

    let next = fresh_keys(&patient.id);
    let response = relay
        .call(
            Method::PUT,
            "/v1/keys/me",
            Some(&patient.token),
            Some(&publish_request(&next)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        events::next(&mut mate).await,
        Event::KeyChanged {
            account_id: patient.id.clone()
        }
    );
    // The stranger's next event is their own typing, not Sam's key change.
    let (stranger_thread, _) = relay
        .thread_with_key(&stranger, clinic.keys.bundle(), Category::Question)
        .await;
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/typing", stranger_thread.thread_id),
            Some(&clinic.token),
            NONE,
        )
        .await;
    assert!(response.status().is_success());
    assert!(matches!(
        events::next(&mut other).await,
        Event::Typing { .. }
    ));
}

#[tokio::test]
async fn signing_in_and_signing_a_device_out_are_in_the_account_history() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let second = clinic_sign_in(&relay, &clinic).await;
    let sessions: SessionList = relay.get_ok("/v1/sessions", Some(&second)).await;
    let first = sessions.sessions.iter().find(|s| !s.current).unwrap();
    let response = relay
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{}", first.session_id),
            Some(&second),
            NONE,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let history: AccountHistory = relay.get_ok("/v1/account/history", Some(&second)).await;
    let seen: Vec<AccountEventKind> = history.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        seen,
        [
            AccountEventKind::SessionRevoked,
            AccountEventKind::SignedIn,
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn,
        ]
    );
    assert_eq!(
        history.events[0].detail.as_deref(),
        Some(first.session_id.as_str())
    );
    assert_eq!(
        history.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [3, 2, 1, 0]
    );
    // Only the account's own.
    assert_eq!(
        kinds(&relay, &patient.token).await,
        [
            AccountEventKind::BundlePublished,
            AccountEventKind::SignedIn
        ]
    );
    relay
        .expect_not_signed_in("/v1/account/history", None)
        .await;
}

#[tokio::test]
async fn bundles_published_before_key_histories_become_their_first_entry() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    // As a database from before migration 0009 would be: a bundle without
    // a history (the triggers are dropped to make it so).
    let db = relay.db().await;
    let drop_trigger = if support::on_postgres() {
        "DROP TRIGGER bundle_history_no_delete ON bundle_history"
    } else {
        "DROP TRIGGER bundle_history_no_delete"
    };
    for sql in [drop_trigger, "DELETE FROM bundle_history"] {
        sqlx::query(sql).execute(&db).await.unwrap();
    }
    let copied = ward_relay::history::backfill(&relay.state.db)
        .await
        .unwrap();
    assert_eq!(copied, 1);
    let served = history(&relay, &clinic.token, &clinic.id).await;
    let verified = key_history::verify(&clinic.id, &entries(&served)).unwrap();
    assert_eq!(verified.head().seq, 0);
    assert_eq!(verified.current_bytes(), clinic.keys.bundle().to_bytes());
    assert_eq!(
        ward_relay::history::backfill(&relay.state.db)
            .await
            .unwrap(),
        0
    );
}

/// `GET /v1/keys/me`: an account asks for its own bundle on its way to
/// publishing it, and gets `null` before the first (no 404 in the
/// browser's console), then the bundle with its history entry.
#[tokio::test]
async fn an_account_reads_its_own_bundle_as_null_before_publishing_it() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let code = relay.invite(&clinic, "sam@example.com").await;
    let sam = Account::from_session(relay.enroll_session(&code, "sam@example.com").await);
    let before: Option<BundleResponse> = relay
        .expect(
            Method::GET,
            "/v1/keys/me",
            Some(&sam.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(before, None);
    relay.publish(&sam).await;
    let after: Option<BundleResponse> = relay
        .expect(
            Method::GET,
            "/v1/keys/me",
            Some(&sam.token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let after = after.unwrap();
    assert_eq!(after.account_id, sam.id);
    assert_eq!(after.bundle.0, sam.keys.bundle().to_bytes());
    assert_eq!(after.seq, 0);
    relay.expect_not_signed_in("/v1/keys/me", None).await;
}
