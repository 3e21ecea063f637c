//! The people who help a patient: invites and the list of caregivers (and,
//! for a caregiver, the patients they help).

use gloo_net::http::Method;
use ward_proto::account::{ConsentAccept, ConsentText};
use ward_proto::auth::{CaregiverInviteRequest, InviteCreated};
use ward_proto::caregivers::{GrantChange, People, Relationship};

use super::{ApiError, SessionToken, call, call_empty, get, url_encode};

/// `GET /v1/caregivers`.
pub(crate) async fn people(token: &SessionToken) -> Result<People, ApiError> {
    get("/v1/caregivers", Some(token)).await
}

/// `GET /v1/caregivers/consent`: the caregiver terms a patient agrees to
/// by inviting someone (or, 13 to 17, by agreeing to a guardian).
pub(crate) async fn terms(token: &SessionToken) -> Result<ConsentText, ApiError> {
    get(&super::in_language("/v1/caregivers/consent"), Some(token)).await
}

/// What agreeing to `terms` as shown sends.
pub(crate) fn shown(terms: &ConsentText) -> ConsentAccept {
    ConsentAccept {
        version: terms.version.clone(),
        sha256: terms.sha256.clone(),
    }
}

/// `POST /v1/caregivers/invites`: an invite code for `display_name`, whose
/// one-time codes go to `contact` (needs a recent sign-in), agreeing to the
/// caregiver terms `terms` as shown.
pub(crate) async fn invite(
    token: &SessionToken,
    display_name: &str,
    contact: &str,
    relationship: Relationship,
    terms: &ConsentText,
) -> Result<InviteCreated, ApiError> {
    let body = CaregiverInviteRequest {
        display_name: display_name.to_owned(),
        contact: contact.to_owned(),
        relationship: Some(relationship),
        consent: shown(terms),
    };
    call(Method::POST, "/v1/caregivers/invites", Some(token), &body).await
}

/// `PATCH /v1/caregivers/{id}` (the patient; needs a recent sign-in):
/// read only or not, and renewing for some months from now.
pub(crate) async fn change(
    token: &SessionToken,
    caregiver_id: &str,
    change: &GrantChange,
) -> Result<(), ApiError> {
    let path = format!("/v1/caregivers/{}", url_encode(caregiver_id));
    call_empty(Method::PATCH, &path, Some(token), Some(change)).await
}

/// `POST /v1/caregivers/{id}/assent` (the patient; needs a recent
/// sign-in): agrees to a guardian the clinic appointed, and to the
/// caregiver terms `terms` as shown.
pub(crate) async fn assent(
    token: &SessionToken,
    caregiver_id: &str,
    terms: &ConsentText,
) -> Result<(), ApiError> {
    let path = format!("/v1/caregivers/{}/assent", url_encode(caregiver_id));
    call_empty(Method::POST, &path, Some(token), Some(&shown(terms))).await
}

/// `POST /v1/caregivers/accept` (a caregiver): accepts another patient's
/// invitation with this account.
pub(crate) async fn accept(token: &SessionToken, invite_code: &str) -> Result<(), ApiError> {
    let body = ward_proto::auth::EnrollStartRequest {
        invite_code: invite_code.to_owned(),
    };
    call_empty(
        Method::POST,
        "/v1/caregivers/accept",
        Some(token),
        Some(&body),
    )
    .await
}

/// `POST /v1/caregivers/{id}/end`: the patient removes caregiver `other`,
/// or a caregiver stops helping patient `other`.
pub(crate) async fn end(token: &SessionToken, other: &str) -> Result<(), ApiError> {
    let path = format!("/v1/caregivers/{}/end", url_encode(other));
    call_empty::<()>(Method::POST, &path, Some(token), None).await
}
