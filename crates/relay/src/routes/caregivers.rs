//! `GET /v1/caregivers`: a patient's caregivers (invited, active, removed)
//! and a caregiver's patients, for "People who help me" and the caregiver's
//! switcher.

use axum::Json;
use axum::extract::State;
use ward_proto::caregivers::{Caregiver, CaregiverStatus, HelpedPatient, People};
use ward_proto::threads::Role;

use crate::error::ApiError;
use crate::extract::Session;
use crate::secrets::now_ms;
use crate::sender::mask;
use crate::{AppState, store};

/// `GET /v1/caregivers`
#[utoipa::path(get, path = "/v1/caregivers", tag = "caregivers", responses((status = 200, description = "For a patient, the people they invited (newest first); for a caregiver, the patients they help", body = ward_proto::caregivers::People)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<People>, ApiError> {
    let mut people = People {
        role: session.kind,
        caregivers: Vec::new(),
        patients: Vec::new(),
    };
    match session.kind {
        Role::Patient => people.caregivers = caregivers_of(&state, &session.account_id).await?,
        Role::Caregiver => {
            people.patients = store::caregivers::helped_by(&state.db, &session.account_id)
                .await?
                .into_iter()
                .map(|helped| HelpedPatient {
                    account_id: helped.patient_id,
                    display_name: helped.display_name,
                    since: unsigned(helped.since),
                })
                .collect();
        }
        Role::Clinic => {}
    }
    Ok(Json(people))
}

/// The patient's waiting invites and enrolled caregivers, newest first.
async fn caregivers_of(state: &AppState, patient_id: &str) -> Result<Vec<Caregiver>, ApiError> {
    let now = now_ms();
    let invited = store::caregivers::waiting_invites(&state.db, patient_id)
        .await?
        .into_iter()
        .map(|invite| Caregiver {
            account_id: None,
            display_name: invite.display_name,
            contact_hint: mask(&invite.contact),
            status: if invite.expires_at > now {
                CaregiverStatus::Invited
            } else {
                CaregiverStatus::InviteExpired
            },
            invited_at: unsigned(invite.created_at),
            invite_expires_at: Some(unsigned(invite.expires_at)),
            active_since: None,
            removed_at: None,
        });
    let linked = store::caregivers::links(&state.db, patient_id)
        .await?
        .into_iter()
        .map(|link| Caregiver {
            account_id: Some(link.caregiver_id),
            display_name: link.display_name,
            contact_hint: mask(&link.contact),
            // Linked at the code's check, but not able to help until they
            // can sign in (and so have published keys to seal to).
            status: if link.revoked_at.is_some() {
                CaregiverStatus::Removed
            } else if link.can_sign_in {
                CaregiverStatus::Active
            } else {
                CaregiverStatus::Enrolling
            },
            invited_at: unsigned(link.invited_at),
            invite_expires_at: None,
            active_since: Some(unsigned(link.linked_at)),
            removed_at: link.revoked_at.map(unsigned),
        });
    let mut all: Vec<Caregiver> = invited.chain(linked).collect();
    all.sort_by_key(|c| std::cmp::Reverse(c.invited_at));
    Ok(all)
}

/// A stored time (never negative) for the API.
fn unsigned(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
