//! The people who help a patient: invites and the list of caregivers (and,
//! for a caregiver, the patients they help).

use gloo_net::http::Method;
use ward_proto::auth::{CaregiverInviteRequest, InviteCreated};
use ward_proto::caregivers::People;

use super::{ApiError, SessionToken, call, get};

/// `GET /v1/caregivers`.
pub(crate) async fn people(token: &SessionToken) -> Result<People, ApiError> {
    get("/v1/caregivers", Some(token)).await
}

/// `POST /v1/caregivers/invites`: an invite code for `display_name`, whose
/// one-time codes go to `contact` (needs a recent sign-in).
pub(crate) async fn invite(
    token: &SessionToken,
    display_name: &str,
    contact: &str,
) -> Result<InviteCreated, ApiError> {
    let body = CaregiverInviteRequest {
        display_name: display_name.to_owned(),
        contact: contact.to_owned(),
    };
    call(Method::POST, "/v1/caregivers/invites", Some(token), &body).await
}
