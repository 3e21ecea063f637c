//! Caregivers: a patient invites one, shares a thread with its history (one
//! sealed key per epoch), and revokes it with a new epoch the caregiver
//! cannot open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{NONE, Relay};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::auth::{CaregiverInviteRequest, InviteCreated};
use ward_proto::threads::{
    AddMemberRequest, Category, CreateThreadRequest, MessagePage, PutEpochRequest,
    RemoveMemberRequest, Role, SealedKeys, Thread,
};
use ward_seal::envelope::Envelope;
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, SealedThreadKey};

#[tokio::test]
async fn a_caregiver_reads_the_history_until_revoked() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    let s = Some(sam.token.as_str());
    let d = Some(dana.token.as_str());

    let (thread, epoch0) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Appointment)
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    let sent = relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            s,
            Some(&support::envelope_request(
                &sam,
                &epoch0,
                &thread.thread_id,
                0,
                "m1",
                "Before Dana joined",
            )),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);

    // Not shared yet: the thread does not exist for Dana.
    relay
        .expect_error(
            Method::GET,
            &path,
            d,
            NONE,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;

    // Sam shares it with the history: one seal per epoch.
    let history = thread_key::share_history(
        &[(0, &epoch0)],
        &thread.thread_id,
        &sam.keys,
        dana.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    let response = relay
        .call(
            Method::POST,
            &format!("{path}/members"),
            s,
            Some(&AddMemberRequest {
                account_id: dana.id.clone(),
                sealed_keys: history.iter().map(|k| Bytes(k.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let seen: Thread = relay
        .expect(Method::GET, &path, d, NONE, StatusCode::OK)
        .await;
    assert!(
        seen.members
            .iter()
            .any(|m| m.account_id == dana.id && m.role == Role::Caregiver)
    );
    let keys: SealedKeys = relay
        .expect(
            Method::GET,
            &format!("{path}/keys"),
            d,
            NONE,
            StatusCode::OK,
        )
        .await;
    let opened = SealedThreadKey::from_bytes(&keys.keys[0].sealed.0)
        .unwrap()
        .open(&dana.keys, sam.keys.bundle(), &thread.thread_id, 0)
        .unwrap();
    let page: MessagePage = relay
        .expect(
            Method::GET,
            &format!("{path}/messages"),
            d,
            NONE,
            StatusCode::OK,
        )
        .await;
    let first = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&opened, &thread.thread_id, sam.keys.bundle())
        .unwrap();
    assert_eq!(first.text, "Before Dana joined");

    // Sam revokes Dana: epoch 1, sealed to Sam and the clinic only.
    let (epoch1, sealed) = thread_key::rotate(
        &thread.thread_id,
        1,
        &sam.keys,
        &[sam.keys.bundle().clone(), clinic.keys.bundle().clone()],
        &mut os_rng(),
    )
    .unwrap();
    let response = relay
        .call(
            Method::POST,
            &format!("{path}/members/{}/remove", dana.id),
            s,
            Some(&RemoveMemberRequest {
                next_epoch: PutEpochRequest {
                    epoch: 1,
                    sealed_keys: sealed.iter().map(|k| Bytes(k.to_bytes())).collect(),
                },
                only_me: false,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            s,
            Some(&support::envelope_request(
                &sam,
                &epoch1,
                &thread.thread_id,
                1,
                "m2",
                "After Dana left",
            )),
        )
        .await;
    assert_eq!(after.status(), StatusCode::CREATED);
    // A message sealed under epoch 0 (whose key Dana still holds) is refused now.
    let stale = relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            s,
            Some(&support::envelope_request(
                &sam,
                &epoch0,
                &thread.thread_id,
                0,
                "m3",
                "Old key",
            )),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    relay
        .expect_error(
            Method::GET,
            &format!("{path}/messages"),
            d,
            NONE,
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        )
        .await;
    // Not only refused by the relay: no key for epoch 1 was ever sealed to Dana.
    let db = relay.db().await;
    let dana_epochs: Vec<i64> =
        sqlx::query_scalar("SELECT epoch FROM sealed_keys WHERE member_id = $1 ORDER BY epoch")
            .bind(&dana.id)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(dana_epochs, [0]);
}

#[tokio::test]
async fn only_the_patient_shares_and_only_with_their_own_caregivers() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let ann = relay.patient(&clinic, "ann@example.com").await;
    let anns_caregiver = relay.caregiver_for(&ann, "bob@example.com").await;
    let s = Some(sam.token.as_str());
    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            s,
            Some(&CreateThreadRequest {
                category: Category::Other,
            }),
            StatusCode::CREATED,
        )
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    // Ann's caregiver is not Sam's.
    relay
        .expect_error(
            Method::POST,
            &format!("{path}/members"),
            s,
            Some(&AddMemberRequest {
                account_id: anns_caregiver.id.clone(),
                sealed_keys: Vec::new(),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::NotYourCaregiver,
        )
        .await;
    // The clinic cannot share a patient's thread.
    relay
        .expect_error(
            Method::POST,
            &format!("{path}/members"),
            Some(&clinic.token),
            Some(&AddMemberRequest {
                account_id: anns_caregiver.id.clone(),
                sealed_keys: Vec::new(),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    // A caregiver cannot invite caregivers or start threads.
    let c = Some(anns_caregiver.token.as_str());
    relay
        .expect_error(
            Method::POST,
            "/v1/caregivers/invites",
            c,
            Some(&CaregiverInviteRequest {
                display_name: "x".into(),
                contact: "x@example.com".into(),
                relationship: None,
                consent: support::caregiver_terms(),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
    relay
        .expect_error(
            Method::POST,
            "/v1/threads",
            c,
            Some(&CreateThreadRequest {
                category: Category::Other,
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
        )
        .await;
}

#[tokio::test]
async fn a_resumed_caregiver_enrollment_keeps_its_one_link() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let invite: InviteCreated = relay
        .expect(
            Method::POST,
            "/v1/caregivers/invites",
            Some(&sam.token),
            Some(&CaregiverInviteRequest {
                display_name: "Dana".into(),
                contact: "dana@example.com".into(),
                relationship: None,
                consent: support::caregiver_terms(),
            }),
            StatusCode::CREATED,
        )
        .await;
    let first = relay
        .enroll_session(&invite.invite_code, "dana@example.com")
        .await;
    // No passkey yet: Dana enrolls again with the same invite.
    let dana = relay.enroll(&invite.invite_code, "dana@example.com").await;
    assert_eq!(dana.id, first.account_id);
    let db = relay.db().await;
    let links: Vec<(String, String)> =
        sqlx::query_as("SELECT patient_id, caregiver_id FROM caregiver_links")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(links, [(sam.id.clone(), dana.id.clone())]);
    let caregivers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE kind = 'caregiver'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(caregivers, 1);
    // Still Sam's caregiver: Sam can share a thread with Dana.
    let thread: Thread = relay
        .expect(
            Method::POST,
            "/v1/threads",
            Some(&sam.token),
            Some(&CreateThreadRequest {
                category: Category::Other,
            }),
            StatusCode::CREATED,
        )
        .await;
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/members", thread.thread_id),
            Some(&sam.token),
            Some(&AddMemberRequest {
                account_id: dana.id.clone(),
                sealed_keys: Vec::new(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Review finding (issue 12): a stolen old session could invite a caregiver
/// at the thief's address and share the patient's threads with them. Both
/// now need a recent sign-in, and both are in the patient's history.
#[tokio::test]
async fn a_stale_session_cannot_invite_a_caregiver_or_share_a_thread() {
    use ward_proto::account::{AccountEventKind, AccountHistory};
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    let s = Some(sam.token.as_str());
    let (thread, epoch0) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Appointment)
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    let sealed = thread_key::share_history(
        &[(0, &epoch0)],
        &thread.thread_id,
        &sam.keys,
        dana.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    let share = AddMemberRequest {
        account_id: dana.id.clone(),
        sealed_keys: sealed.iter().map(|k| Bytes(k.to_bytes())).collect(),
    };

    // Fresh, Sam shares another thread with Dana: allowed, and recorded.
    let (other, other0) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Question)
        .await;
    let other_sealed = thread_key::share_history(
        &[(0, &other0)],
        &other.thread_id,
        &sam.keys,
        dana.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/members", other.thread_id),
            s,
            Some(&AddMemberRequest {
                account_id: dana.id.clone(),
                sealed_keys: other_sealed.iter().map(|k| Bytes(k.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // An hour later, the same session (as a thief who copied it would hold).
    assert!(relay.age_sessions(&sam.id).await > 0);
    relay
        .expect_error(
            Method::POST,
            "/v1/caregivers/invites",
            s,
            Some(&CaregiverInviteRequest {
                display_name: "Mallory".into(),
                contact: "mallory@example.com".into(),
                relationship: None,
                consent: support::caregiver_terms(),
            }),
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    relay
        .expect_error(
            Method::POST,
            &format!("{path}/members"),
            s,
            Some(&share),
            StatusCode::FORBIDDEN,
            ErrorCode::StepUpRequired,
        )
        .await;
    let members: Thread = relay
        .expect(Method::GET, &path, s, NONE, StatusCode::OK)
        .await;
    assert!(!members.members.iter().any(|m| m.account_id == dana.id));

    // Both are in Sam's history, made by a fresh session.
    let history: AccountHistory = relay
        .expect(Method::GET, "/v1/account/history", s, NONE, StatusCode::OK)
        .await;
    assert!(
        history
            .events
            .iter()
            .any(|e| e.kind == AccountEventKind::CaregiverInvited
                && e.detail.as_deref() == Some("Dana")),
        "{history:?}"
    );
    let shared: Vec<_> = history
        .events
        .iter()
        .filter(|e| e.kind == AccountEventKind::ThreadShared)
        .collect();
    assert_eq!(shared.len(), 1, "{history:?}");
    assert_eq!(shared[0].detail.as_deref(), Some(dana.id.as_str()));
}

/// "People who help me": the patient sees whom they invited (waiting,
/// expired) and who enrolled; the caregiver sees whom they help; nobody
/// sees another patient's people. A linked caregiver's keys are visible to
/// the patient (and the patient's to them) before any thread is shared, so
/// the patient's device can seal the first thread key to them.
#[tokio::test]
async fn the_patient_lists_their_caregivers_and_the_caregiver_their_patients() {
    use ward_proto::caregivers::{CaregiverStatus, People};
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let alex = relay.patient(&clinic, "alex@example.com").await;
    let dana = relay.caregiver_for(&sam, "dana@example.com").await;
    // Two more invites: one still waiting, one left to expire.
    for (name, contact) in [("Erin", "erin@example.com"), ("Finn", "+1 555 0100")] {
        let _: InviteCreated = relay
            .expect(
                Method::POST,
                "/v1/caregivers/invites",
                Some(&sam.token),
                Some(&CaregiverInviteRequest {
                    display_name: name.into(),
                    contact: contact.into(),
                    relationship: None,
                    consent: support::caregiver_terms(),
                }),
                StatusCode::CREATED,
            )
            .await;
    }
    // (Finn's a second later too, so the newest-first order is certain.)
    sqlx::query(
        "UPDATE invites SET expires_at = 1, created_at = created_at + 1000 WHERE display_name = 'Finn'",
    )
        .execute(&relay.db().await)
        .await
        .unwrap();

    let people: People = relay.get_ok("/v1/caregivers", Some(&sam.token)).await;
    assert!(people.patients.is_empty());
    let seen: Vec<(&str, CaregiverStatus, &str)> = people
        .caregivers
        .iter()
        .map(|c| (c.display_name.as_str(), c.status, c.contact_hint.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Finn", CaregiverStatus::InviteExpired, "•••• 0100"),
            ("Erin", CaregiverStatus::Invited, "e•••@example.com"),
            ("Dana", CaregiverStatus::Enrolling, "d•••@example.com"),
        ]
    );
    // Dana used the invite and its code but cannot sign in yet: not able
    // to help until she can.
    assert_eq!(seen.last().map(|c| c.1), Some(CaregiverStatus::Enrolling));
    support::totp_on(&relay, &dana.token).await;
    let people: People = relay.get_ok("/v1/caregivers", Some(&sam.token)).await;
    let active = &people.caregivers[2];
    assert_eq!(active.status, CaregiverStatus::Active);
    assert_eq!(active.account_id.as_deref(), Some(dana.id.as_str()));
    assert!(active.active_since.is_some() && active.invite_expires_at.is_none());
    assert!(people.caregivers[1].account_id.is_none());

    assert_eq!(people.role, Role::Patient);
    let helped: People = relay.get_ok("/v1/caregivers", Some(&dana.token)).await;
    assert_eq!(helped.role, Role::Caregiver);
    assert!(helped.caregivers.is_empty());
    assert_eq!(helped.patients.len(), 1);
    assert_eq!(helped.patients[0].account_id, sam.id);
    assert_eq!(helped.patients[0].display_name, "Sam Patient");

    // Another patient sees none of it, and the clinic gets empty lists.
    let other: People = relay.get_ok("/v1/caregivers", Some(&alex.token)).await;
    assert!(other.caregivers.is_empty() && other.patients.is_empty());
    let theirs: People = relay.get_ok("/v1/caregivers", Some(&clinic.token)).await;
    assert!(theirs.caregivers.is_empty() && theirs.patients.is_empty());
    relay.expect_not_signed_in("/v1/caregivers", None).await;

    // Keys: linked both ways, not to anyone else.
    let _: serde_json::Value = relay
        .get_ok(&format!("/v1/keys/{}", dana.id), Some(&sam.token))
        .await;
    let _: serde_json::Value = relay
        .get_ok(&format!("/v1/keys/{}", sam.id), Some(&dana.token))
        .await;
    relay
        .expect_not_found(&format!("/v1/keys/{}", dana.id), Some(&alex.token))
        .await;
    relay
        .expect_not_found(&format!("/v1/keys/{}", alex.id), Some(&dana.token))
        .await;
}

/// A caregiver who already has an account accepts a second patient's
/// invitation (sent to the contact on her account) and helps both; the
/// invitation then is used, and one sent elsewhere, a mistyped code or a
/// patient's account cannot be used this way.
#[tokio::test]
async fn a_caregiver_accepts_a_second_patients_invitation_with_her_own_account() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let alex = relay.patient(&clinic, "alex@example.com").await;
    let dana = relay.caregiver_for(&sam, "Dana@Example.com").await;
    let invite = |patient: &support::Account, contact: &str| {
        let (relay, token, contact) = (&relay, patient.token.clone(), contact.to_owned());
        async move {
            let created: InviteCreated = relay
                .expect(
                    Method::POST,
                    "/v1/caregivers/invites",
                    Some(&token),
                    Some(&CaregiverInviteRequest {
                        display_name: "Dana".into(),
                        contact,
                        relationship: None,
                        consent: support::caregiver_terms(),
                    }),
                    StatusCode::CREATED,
                )
                .await;
            created.invite_code
        }
    };
    let accept = |token: String, code: String| {
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/caregivers/accept",
                    Some(&token),
                    Some(&ward_proto::auth::EnrollStartRequest { invite_code: code }),
                )
                .await
        }
    };

    let elsewhere = invite(&alex, "someone.else@example.com").await;
    let refused = accept(dana.token.clone(), elsewhere).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let mistyped = accept(dana.token.clone(), "NOT-A-CODE".into()).await;
    assert_eq!(mistyped.status(), StatusCode::NOT_FOUND);

    let code = invite(&alex, "dana@example.com").await;
    let by_patient = accept(sam.token.clone(), code.clone()).await;
    assert_eq!(by_patient.status(), StatusCode::FORBIDDEN);
    let accepted = accept(dana.token.clone(), code.clone()).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    let people: ward_proto::caregivers::People =
        relay.get_ok("/v1/caregivers", Some(&dana.token)).await;
    let mut helped: Vec<&str> = people
        .patients
        .iter()
        .map(|p| p.account_id.as_str())
        .collect();
    helped.sort_unstable();
    let mut expected = vec![sam.id.as_str(), alex.id.as_str()];
    expected.sort_unstable();
    assert_eq!(helped, expected);
    let log: ward_proto::account::AccountHistory =
        relay.get_ok("/v1/account/history", Some(&alex.token)).await;
    assert_eq!(
        log.events[0].kind,
        ward_proto::account::AccountEventKind::CaregiverAccepted
    );
    assert_eq!(log.events[0].detail.as_deref(), Some(dana.id.as_str()));
    // Used now; and a second invitation from the same patient is refused.
    let again = accept(dana.token.clone(), code).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let second = invite(&alex, "dana@example.com").await;
    let twice = accept(dana.token.clone(), second).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
}
