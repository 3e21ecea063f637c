//! Patient enrollment: the clinic's invite, "is this you?", then (only
//! once the patient says yes) a one-time code to the contact on file, then
//! an account and a session.
//!
//! Enrollment resumes: until the account it created can sign in by itself
//! (a passkey or a confirmed authenticator app), the invite stays usable
//! (while it has not expired), and verifying again signs in to that same
//! account instead of creating another. A patient who reloads, waits, or
//! whose passkey ceremony fails before adding a passkey is not locked out
//! for good.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, SignInMethod};
use ward_proto::auth::{
    CaregiverInviteRequest, EnrollCodeRequest, EnrollStartRequest, EnrollStarted,
    EnrollVerifyRequest, InviteCreateRequest, InviteCreated,
};
use ward_proto::threads::Role;

use super::auth::display_name;
use super::totp::normalize_contact;
use crate::access::Attempt;
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Session};
use crate::passkeys::has_sign_in_method;
use crate::secrets::{self, now_ms};
use crate::sender::mask;
use crate::{AppState, bounds, lockout, sessions, store};

fn contact(contact: &str) -> Result<String, ApiError> {
    bounds::contact(contact)?;
    let contact = contact.trim();
    let email = contact.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !contact.contains(char::is_whitespace)
    });
    let digits = contact.chars().filter(char::is_ascii_digit).count();
    let phone = (7..=15).contains(&digits)
        && contact
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if contact.len() > 254 || !(email || phone) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidContact,
            "Give an e-mail address or a phone number (7 to 15 digits) for one-time codes.",
        ));
    }
    Ok(contact.to_owned())
}

/// `POST /v1/invites` (clinic only)
#[utoipa::path(post, path = "/v1/invites", tag = "enrollment", request_body = ward_proto::auth::InviteCreateRequest, responses((status = 201, description = "Created", body = ward_proto::auth::InviteCreated), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_invite(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<InviteCreateRequest>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden("Only the clinic can invite patients."));
    }
    let mut tx =
        crate::db::begin_write(&state.db, &store::invites::scope(&session.account_id)).await?;
    let created = insert_invite(
        &state,
        &mut tx,
        &session.account_id,
        Role::Patient,
        None,
        &request.display_name,
        &request.contact,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// `POST /v1/caregivers/invites` (a patient)
#[utoipa::path(post, path = "/v1/caregivers/invites", tag = "enrollment", request_body = ward_proto::auth::CaregiverInviteRequest, responses((status = 201, description = "Created", body = ward_proto::auth::InviteCreated), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody), (status = 409, description = "`consent_changed`: the caregiver terms changed since they were shown", body = ward_proto::ErrorBody), (status = 429, description = "`too_many_invites`: 5 caregiver invites waiting to be used, or 10 made in the last day (Retry-After says when to try again)", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_caregiver_invite(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<CaregiverInviteRequest>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    if session.kind != Role::Patient {
        return Err(ApiError::forbidden(
            "Only a patient can invite a caregiver.",
        ));
    }
    // Inviting someone who will read the patient's threads is as sensitive
    // as adding a way to sign in: a stolen old session must not do it.
    session.require_recent_sign_in()?;
    let terms = crate::routes::consent::caregiver_terms_shown(&state, &request.consent)?;
    let name = display_name(&request.display_name)?;
    // The invitation, the terms the patient agreed to by making it, and its
    // entry in their log: all or nothing.
    let mut tx =
        crate::db::begin_write(&state.db, &store::invites::scope(&session.account_id)).await?;
    let created = insert_invite(
        &state,
        &mut tx,
        &session.account_id,
        Role::Caregiver,
        Some(&session.account_id),
        &request.display_name,
        &request.contact,
        request.relationship,
    )
    .await?;
    crate::routes::consent::record_caregiver_terms(
        &mut tx,
        &session.account_id,
        &session.session_id,
        &terms,
        "caregiver_invite",
        &name,
    )
    .await?;
    crate::history::record_in(
        &mut tx,
        &session.account_id,
        ward_proto::account::AccountEventKind::CaregiverInvited,
        Some(&session.session_id),
        Some(&name),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// `POST /v1/accounts/{account_id}/guardians` (the clinic)
#[utoipa::path(post, path = "/v1/accounts/{account_id}/guardians", tag = "caregivers", request_body = ward_proto::caregivers::GuardianInviteRequest, params(("account_id" = String, Path, description = "The patient")), responses((status = 201, description = "Created: give the guardian the code", body = ward_proto::auth::InviteCreated), (status = 403, description = "Not the clinic", body = ward_proto::ErrorBody), (status = 404, description = "No such patient", body = ward_proto::ErrorBody), (status = 429, description = "`too_many_invites`: the patient's caregiver invites are at their cap", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_guardian_invite(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Path(patient_id): axum::extract::Path<String>,
    JsonBody(request): JsonBody<ward_proto::caregivers::GuardianInviteRequest>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden(
            "Only the clinic can appoint a guardian; a patient invites a caregiver from People who help me.",
        ));
    }
    crate::bounds::id("account id", &patient_id)?;
    if !store::accounts::is_patient(&state.db, &patient_id).await? {
        return Err(ApiError::not_found("patient"));
    }
    let mut tx = crate::db::begin_write(&state.db, &store::invites::scope(&patient_id)).await?;
    let created = insert_invite(
        &state,
        &mut tx,
        &session.account_id,
        Role::Caregiver,
        Some(&patient_id),
        &request.display_name,
        &request.contact,
        Some(request.relationship),
    )
    .await?;
    // In the patient's own log: they see who was appointed, and by whom.
    crate::history::record_in(
        &mut tx,
        &patient_id,
        ward_proto::account::AccountEventKind::CaregiverInvited,
        None,
        Some(&display_name(&request.display_name)?),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The invite someone typed the code of: its hash, the invite if it is
/// unexpired at `now`, and the guess to count as right once the caller
/// accepts it. Counted before the lookup: invites belong to no account
/// yet, so the client's address is what limits guessing them.
pub(crate) async fn look_up_invite(
    state: &AppState,
    addr: &str,
    code: &str,
    now: i64,
) -> Result<(Vec<u8>, Option<store::invites::Live>, lockout::Counted), ApiError> {
    bounds::code("invite code", code)?;
    let counted =
        lockout::count(state, &[(lockout::INVITE_GUESSES, &lockout::address(addr))]).await?;
    let invite_hash = state.secret.code_hash(&secrets::normalize_invite(code));
    let invite = store::invites::live(&state.db, &invite_hash, now).await?;
    Ok((invite_hash, invite, counted))
}

/// Inserts an invite inside `conn`, a write transaction begun under
/// [`store::invites::scope`] of its patient.
#[allow(clippy::too_many_arguments)]
async fn insert_invite(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    created_by: &str,
    kind: Role,
    for_patient: Option<&str>,
    name: &str,
    contact_on_file: &str,
    relationship: Option<ward_proto::caregivers::Relationship>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    let name = display_name(name)?;
    let contact = contact(contact_on_file)?;
    let code = secrets::invite_code()?;
    let now = now_ms();
    let valid = i64::try_from(state.config.invite_valid_hours)
        .unwrap_or(72)
        .saturating_mul(3_600_000);
    // One statement: a patient's caregiver invites are capped (waiting to
    // be used, and made in the last day), so parallel requests cannot
    // overshoot. The clinic's patient invites are not capped here.
    let inserted = store::invites::insert_capped(
        conn,
        store::invites::NewInvite {
            code_hash: &state.secret.code_hash(&code),
            created_by,
            display_name: &name,
            contact: &contact,
            created_at: now,
            expires_at: now + valid,
            kind,
            for_patient,
            relationship,
        },
        // A patient's own invites are capped; the clinic appointing a
        // guardian is not held back by them (a patient with invites
        // waiting must not keep the clinic from it).
        if for_patient.is_some_and(|patient| patient != created_by) {
            store::invites::Caps {
                pending: i64::MAX,
                per_window: i64::MAX,
                window_ms: DAY_MS,
            }
        } else {
            store::invites::Caps {
                pending: MAX_PENDING_CAREGIVER_INVITES,
                per_window: MAX_CAREGIVER_INVITES_PER_DAY,
                window_ms: DAY_MS,
            }
        },
    )
    .await?;
    if !inserted {
        return Err(too_many_invites(state, for_patient.unwrap_or(created_by), now).await);
    }
    Ok((
        StatusCode::CREATED,
        Json(InviteCreated {
            invite_code: code,
            expires_at: u64::try_from((now + valid) / 1000).unwrap_or(0),
        }),
    ))
}

/// Caregiver invites one patient may have waiting to be used.
pub const MAX_PENDING_CAREGIVER_INVITES: i64 = 5;
/// Caregiver invites one patient may make in a day.
pub const MAX_CAREGIVER_INVITES_PER_DAY: i64 = 10;
const DAY_MS: i64 = 86_400_000;

/// 429 `too_many_invites`: which cap `patient` reached, and when it frees up.
async fn too_many_invites(state: &AppState, patient: &str, now: i64) -> ApiError {
    let store::invites::Standing {
        pending,
        first_expiry,
        recent: today,
        first_recent: first_today,
    } = match store::invites::standing(&state.db, patient, now, DAY_MS).await {
        Ok(standing) => standing,
        Err(error) => return error.into(),
    };
    let seconds =
        |at: Option<i64>| u64::try_from((at.unwrap_or(now) - now) / 1000 + 1).unwrap_or(1);
    if today >= MAX_CAREGIVER_INVITES_PER_DAY {
        let wait = seconds(first_today.map(|t| t + DAY_MS));
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyInvites,
            format!(
                "You have made {MAX_CAREGIVER_INVITES_PER_DAY} caregiver invites in the last day. Try again in {} hours.",
                wait.div_ceil(3600).max(1)
            ),
        )
        .retry_after(wait);
    }
    let wait = seconds(first_expiry);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyInvites,
        format!(
            "You have {pending} caregiver invites waiting to be used. Wait until one is used, or until the oldest expires (in {} hours), then invite again.",
            wait.div_ceil(3600).max(1)
        ),
    )
    .retry_after(wait)
}

/// The invite if it still enrolls: unused, or used while its account
/// cannot sign in by itself (enrollment resumes; `verify` checks this
/// again when it counts).
async fn still_enrolls(
    state: &AppState,
    invite: Option<store::invites::Live>,
) -> Result<store::invites::Live, ApiError> {
    let invite = match invite {
        Some(invite) if invite.used_at.is_some() => match &invite.account_id {
            Some(account) if !has_sign_in_method(&state.db, account).await? => Some(invite),
            _ => None,
        },
        invite => invite,
    };
    invite.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::InviteNotValid,
            "That invite code is not valid: it may be mistyped, used already, or expired. Check it, or ask your clinic for a new one.",
        )
    })
}

/// How long a code, and the "Is this you?" step before it, stay live.
fn code_lifetime_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.code_valid_minutes)
        .unwrap_or(10)
        .saturating_mul(60_000)
}

/// `POST /v1/enroll/start`
#[utoipa::path(post, path = "/v1/enroll/start", tag = "enrollment", request_body = ward_proto::auth::EnrollStartRequest, responses((status = 200, description = "Whose invite it is; no code is sent until `POST /v1/enroll/code`", body = ward_proto::auth::EnrollStarted), (status = 404, description = "Not found", body = ward_proto::ErrorBody), (status = 429, description = "`locked_out`: too many invite codes tried from this address (Retry-After says when to try again)", body = ward_proto::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(request): JsonBody<EnrollStartRequest>,
) -> Result<Json<EnrollStarted>, ApiError> {
    let (invite_hash, invite, counted) =
        look_up_invite(&state, &addr, &request.invite_code, now_ms()).await?;
    let invite = still_enrolls(&state, invite).await?;
    counted.right(&state).await?;
    let now = now_ms();
    let enrollment_id =
        match store::invites::pending_enrollment(&state.db, &invite_hash, now).await? {
            Some(pending) => pending,
            None => {
                let enrollment_id = secrets::id("enr")?;
                store::invites::insert_enrollment(
                    &state.db,
                    &enrollment_id,
                    &invite_hash,
                    now,
                    now + code_lifetime_ms(&state),
                )
                .await?;
                enrollment_id
            }
        };
    Ok(Json(EnrollStarted {
        enrollment_id,
        contact_hint: mask(&invite.contact),
        display_name: invite.display_name,
    }))
}

/// `POST /v1/enroll/code`
#[utoipa::path(post, path = "/v1/enroll/code", tag = "enrollment", request_body = ward_proto::auth::EnrollCodeRequest, responses((status = 204, description = "A code went to the contact on the invite; an earlier one for this enrollment stops working"), (status = 400, description = "`ceremony_expired`: no such enrollment, or it timed out or was used (start again with the invite code)", body = ward_proto::ErrorBody), (status = 404, description = "`invite_not_valid`: the invite expired or was used meanwhile", body = ward_proto::ErrorBody), (status = 429, description = "`too_many_codes`: five codes sent to this contact in the last hour, or too many for this inviter's invites (Retry-After says when to try again)", body = ward_proto::ErrorBody)))]
pub async fn send_code(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EnrollCodeRequest>,
) -> Result<StatusCode, ApiError> {
    bounds::id("enrollment id", &request.enrollment_id)?;
    let timed_out = || {
        ApiError::bad_request(
            ErrorCode::CeremonyExpired,
            "This step timed out. Type your invitation code again to get a new code.",
        )
    };
    let now = now_ms();
    let invite_hash = store::invites::live_enrollment(&state.db, &request.enrollment_id, now)
        .await?
        .ok_or_else(timed_out)?;
    let invite = still_enrolls(
        &state,
        store::invites::live(&state.db, &invite_hash, now).await?,
    )
    .await?;
    // A stolen invite must not buy unlimited fresh codes, nor anyone flood
    // the contact's inbox through invites: codes are counted per contact
    // (with sign-in codes) and per inviting account, before sending.
    let contact = invite.contact;
    // A caregiver invite counts against the patient it is for, whoever
    // made it (the patient, or the clinic appointing a guardian): never
    // against the clinic's own budget for patient invites.
    let inviter = invite.budget_of;
    let inviter_limit = if invite.kind == Role::Caregiver {
        lockout::PATIENT_INVITER_CODES
    } else {
        lockout::CLINIC_INVITER_CODES
    };
    let _sends = lockout::count(
        &state,
        &[
            (lockout::CONTACT_CODES, &normalize_contact(&contact)),
            (inviter_limit, &inviter),
        ],
    )
    .await?;
    let code = secrets::six_digits()?;
    let now = now_ms();
    let live = store::invites::set_enrollment_code(
        &state.db,
        &request.enrollment_id,
        &state.secret.code_hash(&code),
        now,
        now + code_lifetime_ms(&state),
    )
    .await?;
    if !live {
        return Err(timed_out());
    }
    let sender = state.sender.clone();
    tokio::task::spawn_blocking(move || sender.send(&contact, "enrollment", &code))
        .await
        .map_err(|e| ApiError::internal("code sender", &e))?
        .map_err(|e| ApiError::code_not_sent(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/enroll/verify`
#[utoipa::path(post, path = "/v1/enroll/verify", tag = "enrollment", request_body = ward_proto::auth::EnrollVerifyRequest, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 409, description = "Invite used (its account has a passkey or an authenticator app)", body = ward_proto::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<EnrollVerifyRequest>,
) -> Result<Response, ApiError> {
    bounds::id("enrollment id", &request.enrollment_id)?;
    bounds::code("code", &request.code)?;
    let typed: String = request.code.chars().filter(char::is_ascii_digit).collect();
    let now = now_ms();
    // Count this guess on the enrollment itself, atomically, before looking
    // at the code: a burst of parallel guesses gets five, not thousands.
    let expected = store::invites::count_guess(&state.db, &request.enrollment_id, now).await?;
    let typed_hash = state.secret.code_hash(&typed);
    if expected.as_deref() != Some(typed_hash.as_slice()) {
        return Err(ApiError::bad_request(
            ErrorCode::CodeNotValid,
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    }
    let mut tx = state.db.begin().await?;
    // Single use: the enrollment is consumed only by the right code.
    let invite_hash =
        store::invites::consume_enrollment(&mut tx, &request.enrollment_id, &typed_hash, now)
            .await?;
    let Some(invite_hash) = invite_hash else {
        drop(tx);
        return Err(ApiError::bad_request(
            ErrorCode::CodeNotValid,
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    };
    let used = || {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InviteUsed,
            "This invite was used already. If that was not you, tell your clinic.",
        )
    };
    let invite = store::invites::get(&mut tx, &invite_hash)
        .await?
        .ok_or_else(used)?;
    let kind = invite.kind;
    // This transaction holds the write lock since its first statement, so
    // no passkey can be added between this check and the commit.
    let resumed = match invite.used_at {
        None => None,
        Some(_) => match invite.account_id.clone() {
            Some(account) if !has_sign_in_method(&mut *tx, &account).await? => Some(account),
            _ => return Err(used()),
        },
    };
    let account_id = if let Some(account_id) = resumed {
        // The same account again (and, for a caregiver, the link made the
        // first time, untouched). Earlier enrollment sessions end: only the
        // newest may add the first passkey without a step-up.
        let ended = store::sessions::revoke_all(&mut tx, &account_id, now).await?;
        tx.commit().await?;
        for token_hash in &ended {
            state.session_watch.end(token_hash);
        }
        tracing::info!(account_id, kind = kind.name(), "enrollment resumed");
        account_id
    } else {
        let account_id = secrets::id("acc")?;
        store::accounts::insert(
            &mut tx,
            store::accounts::NewAccount {
                account_id: &account_id,
                kind,
                display_name: &invite.display_name,
                contact: Some(&invite.contact),
                created_at: now,
            },
        )
        .await?;
        if let Some(patient) = &invite.for_patient {
            // A new account: there is no link to find.
            if !store::accounts::link_caregiver(&mut tx, patient, &account_id, now).await? {
                return Err(ApiError::internal(
                    "enrollment",
                    &"a new account was linked already",
                ));
            }
        }
        store::invites::mark_used(&mut tx, &invite_hash, &account_id, now).await?;
        tx.commit().await?;
        tracing::info!(account_id, kind = kind.name(), "account enrolled");
        // After the commit: the account exists whatever happens here, so a
        // failure to record is logged rather than failing the enrollment.
        if let Some(patient) = &invite.for_patient {
            let recorded = crate::history::record(
                &state.db,
                patient,
                AccountEventKind::CaregiverAccepted,
                None,
                Some(&account_id),
            )
            .await;
            if let Err(error) = recorded {
                tracing::error!(?error, "a caregiver's acceptance was not recorded");
            }
        }
        account_id
    };
    // The codes sent were wanted: the contact may be sent more.
    lockout::clear(
        &state,
        lockout::CONTACT_CODES,
        &normalize_contact(&invite.contact),
    )
    .await?;
    let attempt = Attempt::new(SignInMethod::Invite, &headers, &addr);
    sessions::start(&state, &account_id, &attempt).await
}
