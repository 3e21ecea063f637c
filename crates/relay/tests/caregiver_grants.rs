//! Caregiver grants (issue 15): what a caregiver may do for their patient
//! and until when, enforced by the relay: read-only caregivers cannot
//! send, "Only me" threads are never shared, a removed caregiver (or one
//! who left) is served nothing more at once, and a grant past its end is
//! refused at its time and taken out of the threads, judged by the relay's
//! clock moved forward; and the relay's own watch ends a grant on the
//! system clock within a moment of its end, telling the caregiver live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay, error_code, events};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, AccountHistory};
use ward_proto::caregivers::{CaregiverStatus, GrantChange, People};
use ward_proto::events::Event;
use ward_proto::threads::{
    AddMemberRequest, Category, OnlyMeRequest, PutEpochRequest, RemoveMemberRequest, Role, Thread,
};
use ward_relay::store::caregivers::MONTH_MS;
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, ThreadKey};

/// Sam (a patient), the clinic, and Dana, Sam's caregiver.
struct Family {
    relay: Relay,
    clinic: Account,
    sam: Account,
    dana: Account,
}

async fn family() -> Family {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    Family {
        relay,
        clinic,
        sam,
        dana,
    }
}

impl Family {
    /// A thread of Sam's with the clinic, epoch 0 only.
    async fn thread(&self) -> (Thread, ThreadKey) {
        self.relay
            .thread_with_key(&self.sam, self.clinic.keys.bundle(), Category::Refill)
            .await
    }

    /// Sam shares `thread` (epoch 0) with Dana; the status answered.
    async fn share(&self, thread: &Thread, key: &ThreadKey) -> StatusCode {
        self.relay
            .share_thread(&self.sam, &self.dana, &thread.thread_id, key)
            .await
            .status()
    }

    async fn change(&self, as_: &Account, change: GrantChange) -> reqwest::Response {
        self.relay
            .call(
                Method::PATCH,
                &format!("/v1/caregivers/{}", self.dana.id),
                Some(&as_.token),
                Some(&change),
            )
            .await
    }

    async fn people(&self, as_: &Account) -> People {
        self.relay
            .expect(
                Method::GET,
                "/v1/caregivers",
                Some(&as_.token),
                NONE,
                StatusCode::OK,
            )
            .await
    }

    async fn dana_status(&self) -> CaregiverStatus {
        let people = self.people(&self.sam).await;
        let dana = people
            .caregivers
            .iter()
            .find(|c| c.account_id.as_deref() == Some(self.dana.id.as_str()))
            .unwrap();
        dana.status
    }

    /// The newest event in Sam's account history is `kind`, about Dana.
    async fn sams_latest_is(&self, kind: AccountEventKind) {
        let history: AccountHistory = self
            .relay
            .get_ok("/v1/account/history", Some(&self.sam.token))
            .await;
        let newest = history.events.first().unwrap();
        assert_eq!(newest.kind, kind, "{history:?}");
        assert_eq!(newest.detail.as_deref(), Some(self.dana.id.as_str()));
    }

    async fn inbox(&self, as_: &Account) -> ward_proto::threads::ThreadList {
        self.relay.get_ok("/v1/threads", Some(&as_.token)).await
    }

    /// `thread_id` as `as_` is served it (which must succeed).
    async fn thread_seen(&self, as_: &Account, thread_id: &str) -> Thread {
        self.thread_as(as_, thread_id).await.json().await.unwrap()
    }

    async fn thread_as(&self, as_: &Account, thread_id: &str) -> reqwest::Response {
        self.relay
            .call(
                Method::GET,
                &format!("/v1/threads/{thread_id}"),
                Some(&as_.token),
                NONE,
            )
            .await
    }
}

#[tokio::test]
async fn a_new_grant_lets_the_caregiver_send_for_twelve_months_and_read_only_stops_their_sends() {
    let f = family().await;
    let (thread, key) = f.thread().await;
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let before = f.relay.state.clock.now_ms();
    let helped = f.people(&f.dana).await.patients;
    assert_eq!(helped.len(), 1);
    assert!(helped[0].can_send, "read and send by default");
    let ends = i64::try_from(helped[0].access_ends_at).unwrap();
    assert!(
        (ends - (before + 12 * MONTH_MS)).abs() < 60_000,
        "12 months by default"
    );
    let sent = f
        .relay
        .send(
            &f.dana,
            &key,
            &thread.thread_id,
            0,
            "d1",
            "For Sam: is it ready?",
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);

    // Sam makes Dana read only: her open session hears it, her sends are
    // refused, her reads are not.
    let mut dana_live = events::connect(&f.relay, &f.dana.id, &f.dana.token).await;
    let changed = f
        .change(
            &f.sam,
            GrantChange {
                can_send: Some(false),
                months: None,
                all_threads: None,
            },
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    f.sams_latest_is(AccountEventKind::CaregiverChanged).await;
    assert_eq!(
        events::next(&mut dana_live).await,
        Event::GrantChanged {
            patient_id: f.sam.id.clone()
        }
    );
    assert!(!f.people(&f.dana).await.patients[0].can_send);
    let refused = f
        .relay
        .send(
            &f.dana,
            &key,
            &thread.thread_id,
            0,
            "d2",
            "Another question",
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(refused).await, ErrorCode::ReadOnlyCaregiver);
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::OK
    );
    // Sam lets her send again.
    let changed = f
        .change(
            &f.sam,
            GrantChange {
                can_send: Some(true),
                months: None,
                all_threads: None,
            },
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let sent = f
        .relay
        .send(
            &f.dana,
            &key,
            &thread.thread_id,
            0,
            "d2",
            "Another question",
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn only_the_patient_changes_a_grant_and_never_past_eighteen_months() {
    let f = family().await;
    for months in [0, 1, 13, 24, 1000] {
        let refused = f
            .change(
                &f.sam,
                GrantChange {
                    can_send: None,
                    months: Some(months),
                    all_threads: None,
                },
            )
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{months}"
        );
        assert_eq!(error_code(refused).await, ErrorCode::InvalidField);
    }
    let longest = GrantChange {
        can_send: None,
        months: Some(18),
        all_threads: None,
    };
    let before = f.relay.state.clock.now_ms();
    assert_eq!(
        f.change(&f.sam, longest).await.status(),
        StatusCode::NO_CONTENT
    );
    let ends = i64::try_from(f.people(&f.dana).await.patients[0].access_ends_at).unwrap();
    assert!((ends - (before + 18 * MONTH_MS)).abs() < 60_000);

    // Dana cannot widen her own grant, nor can the clinic or another patient.
    let own = f.change(&f.dana, longest).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let by_clinic = f.change(&f.clinic, longest).await;
    assert_eq!(by_clinic.status(), StatusCode::FORBIDDEN);
    let alex = f.relay.patient(&f.clinic, "alex@example.com").await;
    let stranger = f.change(&alex, longest).await;
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(stranger).await, ErrorCode::NotYourCaregiver);
}

#[tokio::test]
async fn an_only_me_thread_is_never_shared_and_a_shared_one_cannot_become_only_me() {
    let f = family().await;
    let (private, private_key) = f.thread().await;
    let only_me = |only_me: bool, thread_id: String, who: &Account| {
        let token = who.token.clone();
        let relay = &f.relay;
        async move {
            relay
                .call(
                    Method::PUT,
                    &format!("/v1/threads/{thread_id}/only-me"),
                    Some(&token),
                    Some(&OnlyMeRequest { only_me }),
                )
                .await
        }
    };
    let set = only_me(true, private.thread_id.clone(), &f.sam).await;
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let seen: Thread = f.thread_seen(&f.sam, &private.thread_id).await;
    assert!(seen.only_me);
    // A crafted share is refused by the relay, and Dana sees nothing.
    assert_eq!(f.share(&private, &private_key).await, StatusCode::FORBIDDEN);
    assert_eq!(
        f.thread_as(&f.dana, &private.thread_id).await.status(),
        StatusCode::NOT_FOUND
    );
    // The clinic cannot change it.
    let by_clinic = only_me(false, private.thread_id.clone(), &f.clinic).await;
    assert_eq!(by_clinic.status(), StatusCode::FORBIDDEN);

    // A thread shared with Dana cannot be made Only me until she is out.
    let (shared, shared_key) = f.thread().await;
    assert_eq!(f.share(&shared, &shared_key).await, StatusCode::CREATED);
    let refused = only_me(true, shared.thread_id.clone(), &f.sam).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(refused).await, ErrorCode::OnlyMeThread);
    // Sam turns Only me off on the first thread, and may share it then.
    let unset = only_me(false, private.thread_id.clone(), &f.sam).await;
    assert_eq!(unset.status(), StatusCode::NO_CONTENT);
    assert_eq!(f.share(&private, &private_key).await, StatusCode::CREATED);
}

/// A thread in a sensitive category (by default "confidential") is Only me
/// by rule: served as Only me, never shared, and Only me cannot be turned
/// off; a relay configured with other sensitive categories applies them.
#[tokio::test]
async fn a_confidential_thread_is_only_me_by_rule() {
    let f = family().await;
    let (secret, secret_key) = f
        .relay
        .thread_with_key(&f.sam, f.clinic.keys.bundle(), Category::Confidential)
        .await;
    assert!(secret.only_me, "served as Only me from the start");
    assert!(f.thread_seen(&f.sam, &secret.thread_id).await.only_me);
    let share = f
        .relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/members", secret.thread_id),
            Some(&f.sam.token),
            Some(&AddMemberRequest {
                account_id: f.dana.id.clone(),
                sealed_keys: thread_key::share_history(
                    &[(0, &secret_key)],
                    &secret.thread_id,
                    &f.sam.keys,
                    f.dana.keys.bundle(),
                    &mut os_rng(),
                )
                .unwrap()
                .iter()
                .map(|k| Bytes(k.to_bytes()))
                .collect(),
            }),
        )
        .await;
    assert_eq!(share.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(share).await, ErrorCode::OnlyMeThread);
    let unset = f
        .relay
        .call(
            Method::PUT,
            &format!("/v1/threads/{}/only-me", secret.thread_id),
            Some(&f.sam.token),
            Some(&OnlyMeRequest { only_me: false }),
        )
        .await;
    assert_eq!(unset.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(unset).await, ErrorCode::OnlyMeThread);
    assert_eq!(
        f.thread_as(&f.dana, &secret.thread_id).await.status(),
        StatusCode::NOT_FOUND
    );

    // Another relay's clinic counts billing as sensitive.
    let relay = Relay::start_with(|config| {
        config.sensitive_categories = vec!["confidential".into(), "billing".into()]
    })
    .await;
    let clinic = relay.clinic().await;
    let alex = relay.patient(&clinic, "alex@example.com").await;
    let (bill, _) = relay
        .thread_with_key(&alex, clinic.keys.bundle(), Category::Billing)
        .await;
    let (question, _) = relay
        .thread_with_key(&alex, clinic.keys.bundle(), Category::Question)
        .await;
    assert!(bill.only_me);
    assert!(!question.only_me, "only the configured categories");
}

#[tokio::test]
async fn a_removed_caregiver_is_served_nothing_at_once_and_the_threads_want_a_new_epoch() {
    let f = family().await;
    let (thread, key) = f.thread().await;
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let mut dana_live = events::connect(&f.relay, &f.dana.id, &f.dana.token).await;
    let path = format!("/v1/caregivers/{}/end", f.dana.id);
    let ended = f
        .relay
        .call(Method::POST, &path, Some(&f.sam.token), NONE)
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    f.sams_latest_is(AccountEventKind::CaregiverRemoved).await;
    // Her open session hears it at once.
    assert_eq!(
        events::next(&mut dana_live).await,
        Event::AccessEnded {
            patient_id: f.sam.id.clone()
        }
    );

    // Dana: out of the thread, no patients, no sends.
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(f.people(&f.dana).await.patients.is_empty());
    let refused = f
        .relay
        .send(&f.dana, &key, &thread.thread_id, 0, "d1", "Still here?")
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(f.dana_status().await, CaregiverStatus::Removed);
    // Sam's thread wants an epoch sealed without her; the next one clears it.
    let seen: Thread = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(seen.needs_rekey);
    assert!(seen.members.iter().all(|m| m.account_id != f.dana.id));
    // Nothing more is sealed under the key she holds: Sam's next message
    // waits for the next epoch.
    let held = f
        .relay
        .send(&f.sam, &key, &thread.thread_id, 0, "s1", "Under her key")
        .await;
    assert_eq!(held.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(held).await, ErrorCode::StaleEpoch);
    let fresh = next_epoch_without_dana(&f, &thread).await;
    f.relay
        .send_ok(
            &f.sam,
            &fresh,
            &thread.thread_id,
            1,
            "s1",
            "Under the new key",
        )
        .await;
    // What she wrote while in the thread is still checked against her keys
    // by those who read it.
    for reader in [&f.sam, &f.clinic] {
        let keys = f
            .relay
            .call(
                Method::GET,
                &format!("/v1/keys/{}", f.dana.id),
                Some(&reader.token),
                NONE,
            )
            .await;
        assert_eq!(keys.status(), StatusCode::OK);
    }
    let seen: Thread = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(!seen.needs_rekey);
    // Ending it again, or sharing with her again, is refused.
    let again = f
        .relay
        .call(Method::POST, &path, Some(&f.sam.token), NONE)
        .await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(again).await, ErrorCode::NotYourCaregiver);
    let (other, other_key) = f.thread().await;
    assert_eq!(f.share(&other, &other_key).await, StatusCode::FORBIDDEN);
}

/// Sam seals epoch 1 to the members there are now (Sam and the clinic);
/// its key.
async fn next_epoch_without_dana(f: &Family, thread: &Thread) -> ThreadKey {
    let key = ThreadKey::generate(&mut os_rng());
    let sealed = thread_key::seal_to_members(
        &key,
        &thread.thread_id,
        1,
        &f.sam.keys,
        &[f.sam.keys.bundle().clone(), f.clinic.keys.bundle().clone()],
        &mut os_rng(),
    )
    .unwrap();
    let response = f
        .relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/epochs", thread.thread_id),
            Some(&f.sam.token),
            Some(&PutEpochRequest {
                epoch: 1,
                sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    key
}

#[tokio::test]
async fn a_caregiver_can_stop_helping() {
    let f = family().await;
    let (thread, key) = f.thread().await;
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let left = f
        .relay
        .call(
            Method::POST,
            &format!("/v1/caregivers/{}/end", f.sam.id),
            Some(&f.dana.token),
            NONE,
        )
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    f.sams_latest_is(AccountEventKind::CaregiverLeft).await;
    assert_eq!(f.dana_status().await, CaregiverStatus::Removed);
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::NOT_FOUND
    );
    // The clinic has no caregivers to end.
    let by_clinic = f
        .relay
        .call(
            Method::POST,
            &format!("/v1/caregivers/{}/end", f.dana.id),
            Some(&f.clinic.token),
            NONE,
        )
        .await;
    assert_eq!(by_clinic.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_grant_is_refused_at_its_time_swept_out_of_the_threads_and_renewable() {
    let f = family().await;
    let (thread, key) = f.thread().await;
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let clock = &f.relay.state.clock;

    let sent = f
        .relay
        .send(&f.sam, &key, &thread.thread_id, 0, "s1", "Newest words")
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let listed_latest = || async {
        let list: ward_proto::threads::ThreadList =
            f.relay.get_ok("/v1/threads", Some(&f.dana.token)).await;
        list.threads
            .iter()
            .find(|t| t.thread_id == thread.thread_id)
            .map(|t| t.latest.is_some())
    };
    // A minute before the end, Dana still reads, the list's preview too.
    clock.advance(12 * MONTH_MS - 60_000);
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::OK
    );
    assert_eq!(listed_latest().await, Some(true));
    // Two minutes later it has ended: refused at once, before any sweep.
    clock.advance(120_000);
    let refused = f.thread_as(&f.dana, &thread.thread_id).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(refused).await, ErrorCode::AccessEnded);
    let send = f
        .relay
        .send(&f.dana, &key, &thread.thread_id, 0, "d1", "Too late")
        .await;
    assert_eq!(send.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(send).await, ErrorCode::AccessEnded);
    let keys = f
        .relay
        .call(
            Method::GET,
            &format!("/v1/threads/{}/keys", thread.thread_id),
            Some(&f.dana.token),
            NONE,
        )
        .await;
    assert_eq!(keys.status(), StatusCode::FORBIDDEN);
    // The list, not yet swept, carries no newest message for her.
    assert_eq!(listed_latest().await, Some(false));
    assert!(f.people(&f.dana).await.patients.is_empty());
    assert_eq!(f.dana_status().await, CaregiverStatus::Expired);

    // The sweep's grant pass takes her out of the thread, which then wants
    // a new epoch. (The whole sweep, a year on, would also delete everyone's
    // sessions: it runs at the end.)
    let end_due =
        || ward_relay::grants::end_due(&f.relay.state.db, &f.relay.state.events, clock.now_ms());
    assert_eq!(end_due().await.unwrap(), 1);
    f.sams_latest_is(AccountEventKind::CaregiverExpired).await;
    assert_eq!(end_due().await.unwrap(), 0, "an ended grant ends once");
    let seen: Thread = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(seen.needs_rekey);
    assert!(
        seen.members
            .iter()
            .all(|m| m.account_id != f.dana.id || m.role != Role::Caregiver)
    );

    // Only Sam renews it; then he shares again.
    let renewed = f
        .change(
            &f.sam,
            GrantChange {
                can_send: None,
                months: Some(3),
                all_threads: None,
            },
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::NO_CONTENT);
    // (Enrolling: these test caregivers never add a passkey.)
    assert_eq!(f.dana_status().await, CaregiverStatus::Enrolling);
    assert_eq!(f.people(&f.dana).await.patients.len(), 1);
    next_epoch_without_dana(&f, &thread).await;
    let (fresh, fresh_key) = f.thread().await;
    assert_eq!(f.share(&fresh, &fresh_key).await, StatusCode::CREATED);
    assert_eq!(
        f.thread_as(&f.dana, &fresh.thread_id).await.status(),
        StatusCode::OK
    );

    // Three months on, the renewed grant ends too.
    clock.advance(3 * MONTH_MS + 60_000);
    assert_eq!(end_due().await.unwrap(), 1);
    f.sams_latest_is(AccountEventKind::CaregiverExpired).await;
    let db = f.relay.db().await;
    let still_in: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM thread_members WHERE account_id = $1 AND removed_at IS NULL",
    )
    .bind(&f.dana.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(still_in, 0);
}

/// A shared thread is announced to the caregiver live, and the relay's
/// grant watch (`grants::spawn`, started with every relay) ends a grant within a moment of its end on the system clock: the
/// caregiver's inbox no longer lists the thread and new messages are not
/// offered to her live (both ask only for membership), her open session
/// hears `access_ended`, and the thread wants a new epoch.
#[tokio::test]
async fn the_relay_ends_a_grant_at_its_time_and_tells_the_caregiver_live() {
    let f = family().await;
    let (thread, key) = f.thread().await;
    let mut dana_live = events::connect(&f.relay, &f.dana.id, &f.dana.token).await;
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    // Shared: her open session hears of it at once.
    assert_eq!(
        events::next(&mut dana_live).await,
        Event::ThreadShared {
            thread_id: thread.thread_id.clone()
        }
    );
    assert_eq!(f.inbox(&f.dana).await.threads.len(), 1);

    // Her grant now ends 1.5 s from now; a watch that looks every 100 ms
    // (the relay's own looks every minute) is told nothing more.
    let ends_at = i64::try_from(support::unix_now() * 1000).unwrap() + 1_500;
    sqlx::query("UPDATE caregiver_links SET expires_at = $1 WHERE caregiver_id = $2")
        .bind(ends_at)
        .bind(&f.dana.id)
        .execute(&f.relay.db().await)
        .await
        .unwrap();
    let _watch = ward_relay::grants::spawn(
        f.relay.state.db.clone(),
        f.relay.state.events.clone(),
        std::time::Duration::from_millis(100),
    );
    assert_eq!(
        events::next(&mut dana_live).await,
        Event::AccessEnded {
            patient_id: f.sam.id.clone()
        }
    );
    assert!(
        i64::try_from(support::unix_now() * 1000).unwrap() >= ends_at - 1_000,
        "not ended before its time"
    );
    assert!(f.inbox(&f.dana).await.threads.is_empty());
    assert_eq!(f.inbox(&f.sam).await.threads.len(), 1);
    let seen: Thread = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(seen.needs_rekey);
    // A message Sam sends now, under the next epoch, is not offered to her.
    let fresh = next_epoch_without_dana(&f, &thread).await;
    f.relay
        .send_ok(
            &f.sam,
            &fresh,
            &thread.thread_id,
            1,
            "after",
            "Not for Dana",
        )
        .await;
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        events::next(&mut dana_live).await
    })
    .await;
    assert!(quiet.is_err(), "{quiet:?}");
}

/// A caregiver Sam gives all his threads: each of Sam's devices hears of
/// the change; his app shares threads with her without a fresh sign-in
/// (the one the choice itself needed is enough); taken out of one thread
/// alone she would be shared it again, so that is refused, and keeping the
/// thread "Only me" in the same step is how it is done.
#[tokio::test]
async fn a_caregiver_given_all_threads_is_shared_new_ones_unasked_and_leaves_one_only_as_only_me() {
    let f = family().await;
    assert!(!f.people(&f.dana).await.patients[0].all_threads);
    let dana_as_sam_sees = |people: People| {
        people
            .caregivers
            .into_iter()
            .find(|c| c.account_id.as_deref() == Some(f.dana.id.as_str()))
            .unwrap()
            .all_threads
    };
    assert_eq!(dana_as_sam_sees(f.people(&f.sam).await), Some(false));

    // Sam's other device listens: it is the one that may share next.
    let mut sams_other_device = events::connect(&f.relay, &f.sam.id, &f.sam.token).await;
    let all = GrantChange {
        all_threads: Some(true),
        ..GrantChange::default()
    };
    assert_eq!(f.change(&f.sam, all).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        events::next(&mut sams_other_device).await,
        Event::GrantChanged {
            patient_id: f.sam.id.clone()
        }
    );
    assert_eq!(dana_as_sam_sees(f.people(&f.sam).await), Some(true));
    assert!(f.people(&f.dana).await.patients[0].all_threads);

    // A thread started later, shared from a session an hour old.
    let (thread, key) = f.thread().await;
    assert!(f.relay.age_sessions(&f.sam.id).await > 0);
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    // The scope itself still needs a recent sign-in to change.
    let chosen = GrantChange {
        all_threads: Some(false),
        ..GrantChange::default()
    };
    let stale = f.change(&f.sam, chosen).await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(stale).await, ErrorCode::StepUpRequired);

    // Taken out alone: refused, and she still reads it.
    let remove = |only_me: bool| {
        let (_, sealed) = thread_key::rotate(
            &thread.thread_id,
            1,
            &f.sam.keys,
            &[f.sam.keys.bundle().clone(), f.clinic.keys.bundle().clone()],
            &mut os_rng(),
        )
        .unwrap();
        RemoveMemberRequest {
            next_epoch: PutEpochRequest {
                epoch: 1,
                sealed_keys: sealed.iter().map(|k| Bytes(k.to_bytes())).collect(),
            },
            only_me,
        }
    };
    let path = format!(
        "/v1/threads/{}/members/{}/remove",
        thread.thread_id, f.dana.id
    );
    let alone = f
        .relay
        .call(
            Method::POST,
            &path,
            Some(&f.sam.token),
            Some(&remove(false)),
        )
        .await;
    assert_eq!(alone.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(alone).await, ErrorCode::SeesAllThreads);
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::OK
    );

    // With "Only me": she is out (her open screens hear it), the thread is
    // Sam's alone, and it cannot be shared with her again.
    let mut dana_live = events::connect(&f.relay, &f.dana.id, &f.dana.token).await;
    let kept = f
        .relay
        .call(Method::POST, &path, Some(&f.sam.token), Some(&remove(true)))
        .await;
    assert_eq!(kept.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        events::next(&mut dana_live).await,
        Event::ThreadUnshared {
            thread_id: thread.thread_id.clone()
        }
    );
    let seen = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(seen.only_me);
    assert_eq!(seen.current_epoch, Some(1));
    assert!(!seen.members.iter().any(|m| m.account_id == f.dana.id));
    assert_eq!(
        f.thread_as(&f.dana, &thread.thread_id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(f.share(&thread, &key).await, StatusCode::FORBIDDEN);
}

/// Two caregivers who see all of Sam's threads: sharing twice changes
/// nothing; the first removal with "Only me" marks the thread, after which
/// the other leaves without it and no one is let in; turning Only me off
/// again needs a recent sign-in, since they would get the thread unasked.
#[tokio::test]
async fn only_me_keeps_a_thread_from_every_caregiver_who_sees_all_and_undoing_it_needs_a_fresh_sign_in()
 {
    let f = family().await;
    let kim = f.relay.caregiver_for(&f.sam, "kim@example.com").await;
    let all = GrantChange {
        all_threads: Some(true),
        ..GrantChange::default()
    };
    for caregiver in [&f.dana.id, &kim.id] {
        let changed = f
            .relay
            .call(
                Method::PATCH,
                &format!("/v1/caregivers/{caregiver}"),
                Some(&f.sam.token),
                Some(&all),
            )
            .await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    }
    let (thread, key) = f.thread().await;
    let members = format!("/v1/threads/{}/members", thread.thread_id);
    let share_with_kim = thread_key::share_history(
        &[(0, &key)],
        &thread.thread_id,
        &f.sam.keys,
        kim.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let kim_in = f
        .relay
        .call(
            Method::POST,
            &members,
            Some(&f.sam.token),
            Some(&AddMemberRequest {
                account_id: kim.id.clone(),
                sealed_keys: share_with_kim.iter().map(|k| Bytes(k.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(kim_in.status(), StatusCode::CREATED);
    // From a second device at the same time: already in, nothing changes.
    assert_eq!(f.share(&thread, &key).await, StatusCode::CREATED);
    let caregivers = |t: &Thread| {
        t.members
            .iter()
            .filter(|m| m.role == Role::Caregiver)
            .count()
    };
    assert_eq!(
        caregivers(&f.thread_seen(&f.sam, &thread.thread_id).await),
        2
    );

    let remove = |who: &str, epoch: u32, to: Vec<ward_seal::keys::PublicBundle>, only_me: bool| {
        let (_, sealed) =
            thread_key::rotate(&thread.thread_id, epoch, &f.sam.keys, &to, &mut os_rng()).unwrap();
        (
            format!("/v1/threads/{}/members/{who}/remove", thread.thread_id),
            RemoveMemberRequest {
                next_epoch: PutEpochRequest {
                    epoch,
                    sealed_keys: sealed.iter().map(|k| Bytes(k.to_bytes())).collect(),
                },
                only_me,
            },
        )
    };
    let (sam, clinic) = (f.sam.keys.bundle().clone(), f.clinic.keys.bundle().clone());
    let (path, body) = remove(
        &f.dana.id,
        1,
        vec![sam.clone(), clinic.clone(), kim.keys.bundle().clone()],
        true,
    );
    let out = f
        .relay
        .call(Method::POST, &path, Some(&f.sam.token), Some(&body))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let seen = f.thread_seen(&f.sam, &thread.thread_id).await;
    assert!(seen.only_me);
    assert_eq!(caregivers(&seen), 1, "Kim is the next to leave");
    // Marked: no one is let in, Dana least of all.
    assert_eq!(f.share(&thread, &key).await, StatusCode::FORBIDDEN);
    // Kim leaves without the flag: the thread is Only me already.
    let (path, body) = remove(&kim.id, 2, vec![sam, clinic], false);
    let out = f
        .relay
        .call(Method::POST, &path, Some(&f.sam.token), Some(&body))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        caregivers(&f.thread_seen(&f.sam, &thread.thread_id).await),
        0
    );

    // An hour later the same session cannot let them in again.
    assert!(f.relay.age_sessions(&f.sam.id).await > 0);
    let undo = f
        .relay
        .call(
            Method::PUT,
            &format!("/v1/threads/{}/only-me", thread.thread_id),
            Some(&f.sam.token),
            Some(&OnlyMeRequest { only_me: false }),
        )
        .await;
    assert_eq!(undo.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(undo).await, ErrorCode::StepUpRequired);
    assert!(f.thread_seen(&f.sam, &thread.thread_id).await.only_me);
}

/// A patient's open devices hear when a caregiver they invited first has
/// keys (`grant_changed`), so one of them can share at once what the
/// caregiver's scope gives, without waiting for the patient's next visit.
#[tokio::test]
async fn a_patients_devices_hear_when_a_new_caregivers_keys_appear() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let mut sam_live = events::connect(&relay, &sam.id, &sam.token).await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    assert_eq!(
        events::next(&mut sam_live).await,
        Event::GrantChanged {
            patient_id: sam.id.clone()
        }
    );
    // Publishing the same keys again tells nobody anything.
    relay.publish(&dana).await;
    let quiet = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        events::next(&mut sam_live),
    )
    .await;
    assert!(
        !matches!(quiet, Ok(Event::GrantChanged { .. })),
        "{quiet:?}"
    );
}
