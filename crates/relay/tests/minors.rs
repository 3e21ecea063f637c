//! Minors and guardians (issue 15): the clinic records a patient's birth
//! date and appoints a guardian; from 13 to 17 the patient must agree to
//! that guardian in their own app before anything is shared, and the
//! agreement is in their log. An adult's guardian, or a caregiver the teen
//! invited themselves, needs no separate agreement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Account, Relay, error_code};
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, AccountHistory};
use ward_proto::auth::InviteCreated;
use ward_proto::caregivers::{
    Caregiver, CaregiverStatus, GuardianInviteRequest, People, Relationship,
};
use ward_proto::threads::Category;

/// The year `years` ago, as a birth date on 1 January: that patient is
/// `years` or `years - 1` today.
fn born_years_ago(years: u64) -> String {
    let year = 1970 + support::unix_now() / 31_556_952 - years;
    format!("{year}-01-01")
}

async fn set_birth_date(
    relay: &Relay,
    as_: &Account,
    patient: &str,
    date: Option<&str>,
) -> reqwest::Response {
    relay
        .call(
            Method::PUT,
            &format!("/v1/accounts/{patient}/birth-date"),
            Some(&as_.token),
            Some(&json!({ "birth_date": date })),
        )
        .await
}

/// The clinic appoints a guardian for `patient`, who enrolls at `contact`.
async fn guardian(relay: &Relay, clinic: &Account, patient: &Account, contact: &str) -> Account {
    let invite: InviteCreated = relay
        .expect(
            Method::POST,
            &format!("/v1/accounts/{}/guardians", patient.id),
            Some(&clinic.token),
            Some(&GuardianInviteRequest {
                display_name: "Dana Okafor".into(),
                relationship: Relationship::Parent,
                contact: contact.into(),
            }),
            StatusCode::CREATED,
        )
        .await;
    let account = relay.enroll(&invite.invite_code, contact).await;
    // A way to sign in of their own finishes the enrollment.
    support::totp_on(relay, &account.token).await;
    account
}

async fn caregiver(relay: &Relay, patient: &Account, id: &str) -> Caregiver {
    let people: People = relay.get_ok("/v1/caregivers", Some(&patient.token)).await;
    people
        .caregivers
        .into_iter()
        .find(|c| c.account_id.as_deref() == Some(id))
        .unwrap()
}

#[tokio::test]
async fn a_teen_agrees_to_the_guardian_the_clinic_appointed_before_anything_is_shared() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;

    // Only the clinic records a birth date, and only a real one.
    let teen = born_years_ago(15);
    let by_sam = set_birth_date(&relay, &sam, &sam.id, Some(&teen)).await;
    assert_eq!(by_sam.status(), StatusCode::FORBIDDEN);
    for bad in ["2011-13-01", "04/05/2011", "2999-01-01"] {
        let refused = set_birth_date(&relay, &clinic, &sam.id, Some(bad)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(refused).await, ErrorCode::InvalidField);
    }
    let not_a_patient = set_birth_date(&relay, &clinic, &clinic.id, Some(&teen)).await;
    assert_eq!(not_a_patient.status(), StatusCode::NOT_FOUND);
    let set = set_birth_date(&relay, &clinic, &sam.id, Some(&teen)).await;
    assert_eq!(set.status(), StatusCode::NO_CONTENT);

    // Only the clinic appoints a guardian; the patient sees the invite.
    let by_patient = relay
        .call(
            Method::POST,
            &format!("/v1/accounts/{}/guardians", sam.id),
            Some(&sam.token),
            Some(&json!({"display_name": "Dana", "relationship": "parent", "contact": "d@example.com"})),
        )
        .await;
    assert_eq!(by_patient.status(), StatusCode::FORBIDDEN);
    let bad_relationship = relay
        .call(
            Method::POST,
            &format!("/v1/accounts/{}/guardians", sam.id),
            Some(&clinic.token),
            Some(&json!({"display_name": "Dana", "relationship": "landlord", "contact": "d@example.com"})),
        )
        .await;
    assert!(bad_relationship.status().is_client_error());
    let dana = guardian(&relay, &clinic, &sam, "dana@example.com").await;
    let seen = caregiver(&relay, &sam, &dana.id).await;
    assert_eq!(seen.status, CaregiverStatus::AwaitingAssent);
    assert!(seen.appointed_by_clinic);
    assert_eq!(seen.relationship, Some(Relationship::Parent));
    let hers: People = relay.get_ok("/v1/caregivers", Some(&dana.token)).await;
    assert!(hers.patients[0].awaiting_assent);
    let log: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    let appointed = log
        .events
        .iter()
        .find(|e| e.kind == AccountEventKind::CaregiverInvited)
        .unwrap();
    assert_eq!(appointed.detail.as_deref(), Some("Dana Okafor"));
    assert!(
        appointed.session_id.is_none(),
        "not by one of Sam's sessions"
    );

    // Nothing is shared before Sam agrees.
    let (thread, key) = relay
        .thread_with_key(&sam, clinic.keys.bundle(), Category::Question)
        .await;
    let early = relay
        .share_thread(&sam, &dana, &thread.thread_id, &key)
        .await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(early).await, ErrorCode::NotYourCaregiver);

    // Neither the clinic nor the guardian can agree for Sam.
    let path = format!("/v1/caregivers/{}/assent", dana.id);
    let terms = support::caregiver_terms();
    for who in [&clinic, &dana] {
        let refused = relay
            .call(Method::POST, &path, Some(&who.token), Some(&terms))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    // Terms other than the ones served now are refused.
    let stale = ward_proto::account::ConsentAccept {
        version: "ward-caregiver-0".into(),
        ..terms.clone()
    };
    let refused = relay
        .call(Method::POST, &path, Some(&sam.token), Some(&stale))
        .await;
    assert_eq!(error_code(refused).await, ErrorCode::ConsentChanged);
    let agreed = relay
        .call(Method::POST, &path, Some(&sam.token), Some(&terms))
        .await;
    assert_eq!(agreed.status(), StatusCode::NO_CONTENT);
    let log: AccountHistory = relay.get_ok("/v1/account/history", Some(&sam.token)).await;
    assert_eq!(log.events[0].kind, AccountEventKind::CaregiverAssented);
    assert_eq!(log.events[0].detail.as_deref(), Some(dana.id.as_str()));
    // With the terms Sam was shown, by version and hash.
    assert_eq!(log.events[1].kind, AccountEventKind::ConsentGiven);
    let consent: ward_proto::account::ConsentDetail =
        serde_json::from_str(log.events[1].detail.as_deref().unwrap()).unwrap();
    assert_eq!(consent.method, "caregiver_assent");
    assert_eq!(consent.caregiver.as_deref(), Some(dana.id.as_str()));
    assert_eq!(consent.version, terms.version);
    assert_eq!(consent.sha256.len(), 64);
    assert_eq!(
        caregiver(&relay, &sam, &dana.id).await.status,
        CaregiverStatus::Active
    );
    let hers: People = relay.get_ok("/v1/caregivers", Some(&dana.token)).await;
    assert!(!hers.patients[0].awaiting_assent);
    assert_eq!(
        relay
            .share_thread(&sam, &dana, &thread.thread_id, &key)
            .await
            .status(),
        StatusCode::CREATED
    );

    // Agreeing to someone who is not Sam's caregiver is refused.
    let stranger = format!("/v1/caregivers/{}/assent", clinic.id);
    let refused = relay
        .call(Method::POST, &stranger, Some(&sam.token), Some(&terms))
        .await;
    assert_eq!(error_code(refused).await, ErrorCode::NotYourCaregiver);
}

#[tokio::test]
async fn only_a_clinic_appointed_guardian_of_a_teen_waits_for_agreement() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    // An adult (no birth date, then 30): the clinic's guardian is active.
    let ada = relay.patient(&clinic, "ada@example.com").await;
    let hers = guardian(&relay, &clinic, &ada, "g1@example.com").await;
    assert_eq!(
        caregiver(&relay, &ada, &hers.id).await.status,
        CaregiverStatus::Active
    );
    // Nothing to agree to: an agreement given now would stand in for a
    // teen's own later, so it is refused.
    let early = relay
        .call(
            Method::POST,
            &format!("/v1/caregivers/{}/assent", hers.id),
            Some(&ada.token),
            Some(&support::caregiver_terms()),
        )
        .await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    let adult = born_years_ago(30);
    assert_eq!(
        set_birth_date(&relay, &clinic, &ada.id, Some(&adult))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        caregiver(&relay, &ada, &hers.id).await.status,
        CaregiverStatus::Active
    );
    // A child under 13: active too (the parent answers for them).
    let kim = relay.patient(&clinic, "kim@example.com").await;
    let child = born_years_ago(9);
    assert_eq!(
        set_birth_date(&relay, &clinic, &kim.id, Some(&child))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let kims = guardian(&relay, &clinic, &kim, "g2@example.com").await;
    assert_eq!(
        caregiver(&relay, &kim, &kims.id).await.status,
        CaregiverStatus::Active
    );
    // A teen's own invite is their agreement.
    let teen = relay.patient(&clinic, "teen@example.com").await;
    let fifteen = born_years_ago(15);
    assert_eq!(
        set_birth_date(&relay, &clinic, &teen.id, Some(&fifteen))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let own = relay.caregiver_for(&teen, "own@example.com").await;
    support::totp_on(&relay, &own.token).await;
    let seen = caregiver(&relay, &teen, &own.id).await;
    assert_eq!(seen.status, CaregiverStatus::Active);
    assert!(!seen.appointed_by_clinic);
    // Removing the birth date makes the clinic's guardian active.
    let theirs = guardian(&relay, &clinic, &teen, "g3@example.com").await;
    assert_eq!(
        caregiver(&relay, &teen, &theirs.id).await.status,
        CaregiverStatus::AwaitingAssent
    );
    assert_eq!(
        set_birth_date(&relay, &clinic, &teen.id, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        caregiver(&relay, &teen, &theirs.id).await.status,
        CaregiverStatus::Active
    );
}

/// The codes a guardian's invite sends count against the patient it is
/// for, not the clinic: a clinic that enrolled many patients today can
/// still appoint a guardian.
#[tokio::test]
async fn a_busy_clinic_can_still_appoint_a_guardian() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let mut last = None;
    for n in 0..12 {
        last = Some(relay.patient(&clinic, &format!("p{n}@example.com")).await);
    }
    let patient = last.unwrap();
    // The patient's own invites at their cap do not hold the clinic back.
    for n in 0..5 {
        let made = relay
            .call(
                Method::POST,
                "/v1/caregivers/invites",
                Some(&patient.token),
                Some(&json!({"display_name": "Someone", "contact": format!("s{n}@example.com"), "consent": support::caregiver_terms()})),
            )
            .await;
        assert_eq!(made.status(), StatusCode::CREATED);
    }
    let dana = guardian(&relay, &clinic, &patient, "dana@example.com").await;
    assert_eq!(
        caregiver(&relay, &patient, &dana.id).await.status,
        CaregiverStatus::Active
    );
}
