//! `GET /v1/caregivers`: a patient's caregivers (invited, active, expired,
//! removed) and a caregiver's patients, for "People who help me" and the
//! caregiver's switcher; `PATCH /v1/caregivers/{id}`: what a caregiver may
//! do and until when; `POST /v1/caregivers/{id}/end`: the patient removes
//! a caregiver, or a caregiver leaves.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ward_proto::ErrorCode;
use ward_proto::account::AccountEventKind;
use ward_proto::caregivers::{Caregiver, CaregiverStatus, GrantChange, HelpedPatient, People};
use ward_proto::events::Event;
use ward_proto::threads::Role;

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::sender::mask;
use crate::store::caregivers::{GRANT_MONTHS, MONTH_MS};
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
            people.patients =
                store::caregivers::helped_by(&state.db, &session.account_id, state.clock.now_ms())
                    .await?
                    .into_iter()
                    .map(|helped| HelpedPatient {
                        awaiting_assent: store::caregivers::awaits_assent(
                            helped.by_clinic,
                            helped.assented_at,
                            helped.birth_date.as_deref(),
                            state.clock.now_ms(),
                        ),
                        account_id: helped.patient_id,
                        display_name: helped.display_name,
                        since: unsigned(helped.since),
                        can_send: helped.can_send,
                        all_threads: helped.all_threads,
                        access_ends_at: unsigned(helped.expires_at),
                    })
                    .collect();
        }
        Role::Clinic => {}
    }
    Ok(Json(people))
}

/// The patient's waiting invites and enrolled caregivers, newest first.
async fn caregivers_of(state: &AppState, patient_id: &str) -> Result<Vec<Caregiver>, ApiError> {
    let now = state.clock.now_ms();
    let birth_date = store::accounts::birth_date(&state.db, patient_id).await?;
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
            can_send: None,
            all_threads: None,
            access_ends_at: None,
            relationship: invite.relationship,
            appointed_by_clinic: invite.by_clinic,
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
            } else if link.expires_at <= now {
                CaregiverStatus::Expired
            } else if link.can_sign_in
                && store::caregivers::awaits_assent(
                    link.by_clinic,
                    link.assented_at,
                    birth_date.as_deref(),
                    now,
                )
            {
                CaregiverStatus::AwaitingAssent
            } else if link.can_sign_in {
                CaregiverStatus::Active
            } else {
                CaregiverStatus::Enrolling
            },
            invited_at: unsigned(link.invited_at),
            invite_expires_at: None,
            active_since: Some(unsigned(link.linked_at)),
            removed_at: link.revoked_at.map(unsigned),
            can_send: Some(link.can_send),
            all_threads: Some(link.all_threads),
            access_ends_at: Some(unsigned(link.expires_at)),
            relationship: link.relationship,
            appointed_by_clinic: link.by_clinic,
        });
    let mut all: Vec<Caregiver> = invited.chain(linked).collect();
    all.sort_by_key(|c| std::cmp::Reverse(c.invited_at));
    Ok(all)
}

/// `PATCH /v1/caregivers/{account_id}` (the patient)
#[utoipa::path(patch, path = "/v1/caregivers/{account_id}", tag = "caregivers", request_body = ward_proto::caregivers::GrantChange, params(("account_id" = String, Path, description = "The caregiver")), responses((status = 204, description = "Changed"), (status = 403, description = "Not a patient (`forbidden`), no recent sign-in (`step_up_required`), or not their caregiver any more (`not_your_caregiver`)", body = ward_proto::ErrorBody), (status = 422, description = "`months` is not 3, 6, 12 or 18 (`invalid_field`)", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn change_grant(
    State(state): State<AppState>,
    session: Session,
    Path(caregiver_id): Path<String>,
    JsonBody(change): JsonBody<GrantChange>,
) -> Result<StatusCode, ApiError> {
    if session.kind != Role::Patient {
        return Err(ApiError::forbidden(
            "Only a patient chooses what their caregivers may do.",
        ));
    }
    let expires_at = match change.months.map(i64::from) {
        None => None,
        Some(months) if GRANT_MONTHS.contains(&months) => {
            Some(state.clock.now_ms().saturating_add(months * MONTH_MS))
        }
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidField,
                "Choose 3, 6, 12 or 18 months: access lasts 18 months at most.",
            ));
        }
    };
    // What a caregiver may read and send for the patient is as sensitive
    // as sharing a thread: a stolen old session cannot widen it.
    session.require_recent_sign_in()?;
    if !store::caregivers::change(
        &state.db,
        &session.account_id,
        &caregiver_id,
        store::caregivers::Change {
            can_send: change.can_send,
            all_threads: change.all_threads,
            expires_at,
        },
    )
    .await?
    {
        return Err(not_linked());
    }
    crate::history::record(
        &state.db,
        &session.account_id,
        AccountEventKind::CaregiverChanged,
        Some(&session.session_id),
        Some(&caregiver_id),
    )
    .await?;
    // Their open sessions read the grant again (a read-only caregiver's
    // composer goes away). The patient's other devices too: one of them
    // may be the first to share the threads of a caregiver who now sees
    // all of them.
    state.events.publish(
        vec![caregiver_id, session.account_id.clone()],
        &Event::GrantChanged {
            patient_id: session.account_id.clone(),
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/caregivers/{account_id}/end`: a patient removes their
/// caregiver `account_id`, or a caregiver stops helping their patient
/// `account_id`. At once the caregiver leaves every thread of the
/// patient's, the relay serves them none of it, and those threads are
/// marked for a new epoch sealed without them.
#[utoipa::path(post, path = "/v1/caregivers/{account_id}/end", tag = "caregivers", params(("account_id" = String, Path, description = "The caregiver (when a patient calls) or the patient (when a caregiver calls)")), responses((status = 204, description = "Ended"), (status = 403, description = "The clinic (`forbidden`), or no grant between the two (`not_your_caregiver`)", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn end(
    State(state): State<AppState>,
    session: Session,
    Path(other): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (patient_id, caregiver_id) = match session.kind {
        Role::Patient => (session.account_id.as_str(), other.as_str()),
        Role::Caregiver => (other.as_str(), session.account_id.as_str()),
        Role::Clinic => {
            return Err(ApiError::forbidden("A clinic does not have caregivers."));
        }
    };
    let now = state.clock.now_ms();
    let mut tx = crate::db::begin_write(&state.db, &format!("caregivers:{patient_id}")).await?;
    if store::caregivers::end(&mut tx, patient_id, caregiver_id, now)
        .await?
        .is_none()
    {
        return Err(not_linked());
    }
    // In the patient's history, whoever ended it.
    let kind = if session.kind == Role::Patient {
        AccountEventKind::CaregiverRemoved
    } else {
        AccountEventKind::CaregiverLeft
    };
    let by = (session.kind == Role::Patient).then_some(session.session_id.as_str());
    crate::history::record_in(&mut tx, patient_id, kind, by, Some(caregiver_id)).await?;
    tx.commit().await?;
    // The caregiver's open sessions (the one that left included) drop the
    // patient's threads now, not at their next refresh.
    state.events.publish(
        vec![caregiver_id.to_owned()],
        &Event::AccessEnded {
            patient_id: patient_id.to_owned(),
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/caregivers/{account_id}/assent`: the patient agrees to
/// caregiver `account_id`, a guardian the clinic appointed (needed from 13
/// to 17 before anything is shared with them). Recorded in the patient's
/// log, with the caregiver terms they were shown (their version and
/// SHA-256) as a consent. Refused unless that caregiver waits for this
/// patient's agreement now (an agreement given early would stand in for
/// the teen's own later).
#[utoipa::path(post, path = "/v1/caregivers/{account_id}/assent", tag = "caregivers", request_body = ward_proto::account::ConsentAccept, params(("account_id" = String, Path, description = "The caregiver")), responses((status = 204, description = "Agreed"), (status = 403, description = "Not a patient, no recent sign-in (`step_up_required`), or no grant in force between the two (`not_your_caregiver`)", body = ward_proto::ErrorBody), (status = 409, description = "`consent_changed`: the caregiver terms changed since they were shown", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn assent(
    State(state): State<AppState>,
    session: Session,
    Path(caregiver_id): Path<String>,
    JsonBody(shown): JsonBody<ward_proto::account::ConsentAccept>,
) -> Result<StatusCode, ApiError> {
    if session.kind != Role::Patient {
        return Err(ApiError::forbidden(
            "Only the patient agrees to who helps them.",
        ));
    }
    // As sensitive as sharing: a stolen old session must not agree.
    session.require_recent_sign_in()?;
    let patient_id = session.account_id.as_str();
    let now = state.clock.now_ms();
    // Only an agreement that is asked for now: given early (before 13, or
    // before a birth date is on file) it would stand in for the teen's own.
    if !store::caregivers::waits_for_assent(&state.db, patient_id, &caregiver_id, now).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotYourCaregiver,
            "That person is not waiting for your agreement: only a guardian the clinic appointed for you, while you are 13 to 17, is.",
        ));
    }
    let terms = crate::routes::consent::caregiver_terms_shown(&state, &shown)?;
    let mut tx = crate::db::begin_write(&state.db, &format!("caregivers:{patient_id}")).await?;
    if !store::caregivers::assent(&mut tx, patient_id, &caregiver_id, now).await? {
        return Err(not_linked());
    }
    crate::routes::consent::record_caregiver_terms(
        &mut tx,
        patient_id,
        &session.session_id,
        &terms,
        "caregiver_assent",
        &caregiver_id,
    )
    .await?;
    crate::history::record_in(
        &mut tx,
        patient_id,
        AccountEventKind::CaregiverAssented,
        Some(&session.session_id),
        Some(&caregiver_id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/caregivers/accept`: a caregiver who already has an account
/// accepts another patient's invitation (sent to the contact on their
/// account), and helps that patient too.
#[utoipa::path(post, path = "/v1/caregivers/accept", tag = "caregivers", request_body = ward_proto::auth::EnrollStartRequest, responses((status = 204, description = "Accepted: the patient is in the caller's list"), (status = 403, description = "Not a caregiver account (`forbidden`), or the invitation was sent to another contact (`forbidden`)", body = ward_proto::ErrorBody), (status = 404, description = "`invite_not_valid`: mistyped, used, expired, or not a caregiver invitation", body = ward_proto::ErrorBody), (status = 409, description = "`invite_used`: the caller already helps (or helped) that patient", body = ward_proto::ErrorBody), (status = 429, description = "`locked_out`: too many invite codes tried from this address", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    crate::extract::ClientAddr(addr): crate::extract::ClientAddr,
    session: Session,
    JsonBody(request): JsonBody<ward_proto::auth::EnrollStartRequest>,
) -> Result<StatusCode, ApiError> {
    if session.kind != Role::Caregiver {
        return Err(ApiError::forbidden(
            "Only a caregiver's account accepts an invitation to help; sign in with the account you help others from.",
        ));
    }
    let now = state.clock.now_ms();
    let (invite_hash, invite, counted) =
        super::enroll::look_up_invite(&state, &addr, &request.invite_code, now).await?;
    let invite = invite.filter(|invite| invite.used_at.is_none() && invite.kind == Role::Caregiver);
    let Some(invite) = invite else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
            "That invitation code is not valid: it may be mistyped, used already, or expired. Check it, or ask for a new one.",
        ));
    };
    counted.right(&state).await?;
    let patient_id = invite.budget_of;
    let mine = store::accounts::contact(&state.db, &session.account_id)
        .await?
        .unwrap_or_default();
    let normalize = crate::routes::totp::normalize_contact;
    if normalize(&mine) != normalize(&invite.contact) || patient_id == session.account_id {
        return Err(ApiError::forbidden(
            "That invitation was sent to a different e-mail address or phone number than your account's. Ask them to invite the one you signed up with.",
        ));
    }
    let mut tx = crate::db::begin_write(&state.db, &format!("caregivers:{patient_id}")).await?;
    if !store::accounts::link_caregiver(&mut tx, &patient_id, &session.account_id, now).await? {
        return Err(ApiError::conflict(
            ErrorCode::InviteUsed,
            "You already help this person, or did before: ask them to give you access again from People who help me.",
        ));
    }
    store::invites::mark_used(&mut tx, &invite_hash, &session.account_id, now).await?;
    crate::history::record_in(
        &mut tx,
        &patient_id,
        AccountEventKind::CaregiverAccepted,
        None,
        Some(&session.account_id),
    )
    .await?;
    tx.commit().await?;
    // The patient's open devices too: this account has keys already, so
    // one of them can share what the grant gives at once.
    state.events.publish(
        vec![session.account_id.clone(), patient_id.clone()],
        &Event::GrantChanged { patient_id },
    );
    Ok(StatusCode::NO_CONTENT)
}

fn not_linked() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::NotYourCaregiver,
        "There is no caregiver access between you and that account, or it was already ended.",
    )
}

/// A stored time (never negative) for the API.
fn unsigned(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
