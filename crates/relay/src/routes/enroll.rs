//! Patient enrollment: the clinic's invite, then a one-time code to the
//! contact on file, then an account and a session.
//!
//! Enrollment resumes: until the account it created can sign in by itself
//! (a passkey or a confirmed authenticator app), the invite stays usable
//! (while it has not expired), and verifying again signs in to that same
//! account instead of creating another. A patient who reloads, waits, or
//! whose passkey ceremony fails before adding a passkey is not locked out
//! for good.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use sqlx::Row;
use ward_proto::auth::{
    CaregiverInviteRequest, EnrollStartRequest, EnrollStarted, EnrollVerifyRequest,
    InviteCreateRequest, InviteCreated,
};

use super::auth::display_name;
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Session};
use crate::passkeys::has_sign_in_method;
use crate::secrets::{self, now_ms};
use crate::sender::mask;
use crate::{AppState, bounds, lockout, sessions};

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
            "invalid_contact",
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
    if session.kind != "clinic" {
        return Err(ApiError::forbidden("Only the clinic can invite patients."));
    }
    insert_invite(
        &state,
        &session.account_id,
        "patient",
        None,
        &request.display_name,
        &request.contact,
    )
    .await
}

/// `POST /v1/caregivers/invites` (a patient)
#[utoipa::path(post, path = "/v1/caregivers/invites", tag = "enrollment", request_body = ward_proto::auth::CaregiverInviteRequest, responses((status = 201, description = "Created", body = ward_proto::auth::InviteCreated), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_caregiver_invite(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<CaregiverInviteRequest>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    if session.kind != "patient" {
        return Err(ApiError::forbidden(
            "Only a patient can invite a caregiver.",
        ));
    }
    insert_invite(
        &state,
        &session.account_id,
        "caregiver",
        Some(&session.account_id),
        &request.display_name,
        &request.contact,
    )
    .await
}

async fn insert_invite(
    state: &AppState,
    created_by: &str,
    kind: &str,
    for_patient: Option<&str>,
    name: &str,
    contact_on_file: &str,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    let name = display_name(name)?;
    let contact = contact(contact_on_file)?;
    let code = secrets::invite_code()?;
    let now = now_ms();
    let valid = i64::try_from(state.config.invite_valid_hours)
        .unwrap_or(72)
        .saturating_mul(3_600_000);
    sqlx::query(
        "INSERT INTO invites (code_hash, created_by, display_name, contact, created_at, expires_at, kind, for_patient)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(secrets::hash(&code))
    .bind(created_by)
    .bind(&name)
    .bind(&contact)
    .bind(now)
    .bind(now + valid)
    .bind(kind)
    .bind(for_patient)
    .execute(&state.db)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteCreated {
            invite_code: code,
            expires_at: u64::try_from((now + valid) / 1000).unwrap_or(0),
        }),
    ))
}

/// `POST /v1/enroll/start`
#[utoipa::path(post, path = "/v1/enroll/start", tag = "enrollment", request_body = ward_proto::auth::EnrollStartRequest, responses((status = 200, description = "OK", body = ward_proto::auth::EnrollStarted), (status = 404, description = "Not found", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(request): JsonBody<EnrollStartRequest>,
) -> Result<Json<EnrollStarted>, ApiError> {
    bounds::code("invite code", &request.invite_code)?;
    let addr_key = format!("enroll-addr:{addr}");
    lockout::check(&state, &addr_key).await?;
    let invite_hash = secrets::hash(&secrets::normalize_invite(&request.invite_code));
    let row = sqlx::query(
        "SELECT display_name, contact, used_at, account_id FROM invites WHERE code_hash = ? AND expires_at > ?",
    )
    .bind(&invite_hash)
    .bind(now_ms())
    .fetch_optional(&state.db)
    .await?;
    // A used invite still enrolls (resumes) while its account cannot sign
    // in by itself; `verify` checks this again when it counts.
    let row = match row {
        Some(row) if row.get::<Option<i64>, _>("used_at").is_some() => {
            match row.get::<Option<String>, _>("account_id") {
                Some(account) if !has_sign_in_method(&state.db, &account).await? => Some(row),
                _ => None,
            }
        }
        row => row,
    };
    let Some(row) = row else {
        lockout::fail(&state, &addr_key).await?;
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invite_not_valid",
            "That invite code is not valid: it may be mistyped, used already, or expired. Check it, or ask your clinic for a new one.",
        ));
    };
    // A stolen invite must not buy unlimited fresh codes (nor flood the
    // patient's inbox): five an hour.
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM enrollments WHERE invite_hash = ? AND created_at > ?",
    )
    .bind(&invite_hash)
    .bind(now_ms() - 3_600_000)
    .fetch_one(&state.db)
    .await?;
    if recent >= 5 {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_codes",
            "We have sent several codes for this invite in the last hour. Use the latest one, or wait an hour and start again.",
        ));
    }
    let contact: String = row.get("contact");
    let code = secrets::six_digits()?;
    let enrollment_id = secrets::id("enr")?;
    let now = now_ms();
    let valid = i64::try_from(state.config.code_valid_minutes)
        .unwrap_or(10)
        .saturating_mul(60_000);
    sqlx::query(
        "INSERT INTO enrollments (enrollment_id, invite_hash, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&enrollment_id)
    .bind(&invite_hash)
    .bind(secrets::hash(&code))
    .bind(now)
    .bind(now + valid)
    .execute(&state.db)
    .await?;
    let sender = state.sender.clone();
    let (to, sent_code) = (contact.clone(), code);
    tokio::task::spawn_blocking(move || sender.send(&to, "enrollment", &sent_code))
        .await
        .map_err(|e| ApiError::internal("code sender", &e))?
        .map_err(|e| ApiError::code_not_sent(&e))?;
    Ok(Json(EnrollStarted {
        enrollment_id,
        contact_hint: mask(&contact),
        display_name: row.get("display_name"),
    }))
}

/// `POST /v1/enroll/verify`
#[utoipa::path(post, path = "/v1/enroll/verify", tag = "enrollment", request_body = ward_proto::auth::EnrollVerifyRequest, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 409, description = "Invite used (its account has a passkey or an authenticator app)", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<EnrollVerifyRequest>,
) -> Result<Response, ApiError> {
    bounds::id("enrollment id", &request.enrollment_id)?;
    bounds::code("code", &request.code)?;
    let key = format!("enroll-code:{}", request.enrollment_id);
    let addr_key = format!("enroll-addr:{addr}");
    lockout::check(&state, &key).await?;
    lockout::check(&state, &addr_key).await?;
    let typed: String = request.code.chars().filter(char::is_ascii_digit).collect();
    let now = now_ms();
    // Count this guess on the enrollment itself, atomically, before looking
    // at the code: a burst of parallel guesses gets five, not thousands.
    let expected: Option<Vec<u8>> = sqlx::query_scalar(
        "UPDATE enrollments SET attempts = attempts + 1
         WHERE enrollment_id = ? AND used_at IS NULL AND expires_at > ? AND attempts < 5
         RETURNING code_hash",
    )
    .bind(&request.enrollment_id)
    .bind(now)
    .fetch_optional(&state.db)
    .await?;
    if expected.as_deref() != Some(secrets::hash(&typed).as_slice()) {
        lockout::fail(&state, &key).await?;
        lockout::fail(&state, &addr_key).await?;
        return Err(ApiError::bad_request(
            "code_not_valid",
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    }
    let mut tx = state.db.begin().await?;
    // Single use: the enrollment is consumed only by the right code.
    let row = sqlx::query(
        "UPDATE enrollments SET used_at = ?
         WHERE enrollment_id = ? AND code_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING invite_hash",
    )
    .bind(now)
    .bind(&request.enrollment_id)
    .bind(secrets::hash(&typed))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        drop(tx);
        lockout::fail(&state, &key).await?;
        lockout::fail(&state, &addr_key).await?;
        return Err(ApiError::bad_request(
            "code_not_valid",
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    };
    let invite_hash: Vec<u8> = row.get("invite_hash");
    let used = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "invite_used",
            "This invite was used already. If that was not you, tell your clinic.",
        )
    };
    let invite = sqlx::query(
        "SELECT display_name, contact, kind, for_patient, used_at, account_id FROM invites WHERE code_hash = ?",
    )
    .bind(&invite_hash)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(used)?;
    let kind: String = invite.get("kind");
    // This transaction holds the write lock since its first statement, so
    // no passkey can be added between this check and the commit.
    let resumed = match invite.get::<Option<i64>, _>("used_at") {
        None => None,
        Some(_) => match invite.get::<Option<String>, _>("account_id") {
            Some(account) if !has_sign_in_method(&mut *tx, &account).await? => Some(account),
            _ => return Err(used()),
        },
    };
    let account_id = if let Some(account_id) = resumed {
        // The same account again (and, for a caregiver, the link made the
        // first time, untouched). Earlier enrollment sessions end: only the
        // newest may add the first passkey without a step-up.
        sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(account_id, kind, "enrollment resumed");
        account_id
    } else {
        let account_id = secrets::id("acc")?;
        sqlx::query("INSERT INTO accounts (account_id, kind, display_name, contact, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&account_id)
            .bind(&kind)
            .bind(invite.get::<String, _>("display_name"))
            .bind(invite.get::<String, _>("contact"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some(patient) = invite.get::<Option<String>, _>("for_patient") {
            sqlx::query(
                "INSERT INTO caregiver_links (patient_id, caregiver_id, created_at) VALUES (?, ?, ?)",
            )
            .bind(patient)
            .bind(&account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE invites SET used_at = ?, account_id = ? WHERE code_hash = ?")
            .bind(now)
            .bind(&account_id)
            .bind(&invite_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(account_id, kind, "account enrolled");
        account_id
    };
    lockout::succeed(&state, &key).await?;
    sessions::start(
        &state,
        &account_id,
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
    .await
}
