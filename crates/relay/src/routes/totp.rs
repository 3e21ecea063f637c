//! TOTP (RFC 6238): status, enroll, confirm, disable with step-up; and the
//! fallback sign-in it guards: a one-time code to the contact on file, then TOTP.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};
use ward_proto::ErrorCode;
use ward_proto::account::AccountEventKind;
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, TotpCode, TotpEnrollment, TotpStatus,
};

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::{self, now_ms};
use crate::{AppState, bounds, history, lockout, sessions};

const STEP_SECONDS: u64 = 30;

fn totp(secret: Vec<u8>, label: &str) -> Result<TOTP, ApiError> {
    // RFC 6238 defaults every authenticator app supports: SHA-1, 6 digits,
    // 30 s. No skew here: `matching_step` checks the neighbouring steps
    // itself, to know which step was used.
    let label: String = label.chars().filter(|c| *c != ':').collect();
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS,
        secret,
        Some("Ward".into()),
        label,
    )
    .map_err(|e| ApiError::internal("totp", &e))
}

/// The time step `code` belongs to (now, or one step either side for clock
/// drift), if it matches.
fn matching_step(totp: &TOTP, code: &str) -> Option<i64> {
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0) / STEP_SECONDS;
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| totp.check(&code, step * STEP_SECONDS))
        .and_then(|step| i64::try_from(step).ok())
}

/// `GET /v1/totp`: whether the authenticator app is on (a confirmed secret)
/// or being set up (an unconfirmed one). No step-up: it only reads.
#[utoipa::path(get, path = "/v1/totp", tag = "totp", responses((status = 200, description = "OK", body = ward_proto::auth::TotpStatus)), security(("session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<TotpStatus>, ApiError> {
    // One row per account: `confirmed_at` is NULL while enrollment is pending.
    let confirmed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT confirmed_at FROM totp WHERE account_id = $1")
            .bind(&session.account_id)
            .fetch_optional(&state.db)
            .await?;
    Ok(Json(TotpStatus {
        enabled: matches!(confirmed, Some(Some(_))),
        pending: matches!(confirmed, Some(None)),
    }))
}

/// `POST /v1/totp/enroll`: needs a recent sign-in (step-up).
#[utoipa::path(post, path = "/v1/totp/enroll", tag = "totp", responses((status = 200, description = "OK", body = ward_proto::auth::TotpEnrollment), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn enroll(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<TotpEnrollment>, ApiError> {
    session.require_recent_sign_in()?;
    let confirmed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT confirmed_at FROM totp WHERE account_id = $1")
            .bind(&session.account_id)
            .fetch_optional(&state.db)
            .await?;
    if matches!(confirmed, Some(Some(_))) {
        return Err(ApiError::conflict(
            ErrorCode::TotpEnabled,
            "An authenticator app is already set up. Turn it off first to set up another.",
        ));
    }
    let secret = secrets::random::<20>()?.to_vec();
    let name: String =
        sqlx::query_scalar("SELECT display_name FROM accounts WHERE account_id = $1")
            .bind(&session.account_id)
            .fetch_one(&state.db)
            .await?;
    let generator = totp(secret.clone(), &name)?;
    // Stored sealed under the relay's secret, never in the clear.
    let sealed = state.secret.seal_seed(&session.account_id, &secret)?;
    sqlx::query(
        "INSERT INTO totp (account_id, secret) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0",
    )
    .bind(&session.account_id)
    .bind(&sealed)
    .execute(&state.db)
    .await?;
    Ok(Json(TotpEnrollment {
        secret_base32: Secret::Raw(secret).to_encoded().to_string(),
        otpauth_uri: generator.get_url(),
    }))
}

/// `POST /v1/totp/confirm`: needs a recent sign-in (step-up): turning the
/// app on adds a way to sign in. Recorded in the account history.
#[utoipa::path(post, path = "/v1/totp/confirm", tag = "totp", request_body = ward_proto::auth::TotpCode, responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<TotpCode>,
) -> Result<StatusCode, ApiError> {
    bounds::code("code", &request.code)?;
    session.require_recent_sign_in()?;
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT secret FROM totp WHERE account_id = $1 AND confirmed_at IS NULL",
    )
    .bind(&session.account_id)
    .fetch_optional(&state.db)
    .await?;
    let sealed = sealed.ok_or_else(|| {
        ApiError::conflict(
            ErrorCode::NoPendingTotp,
            "Start setting up the authenticator app first.",
        )
    })?;
    let secret = state.secret.open_seed(&session.account_id, &sealed)?;
    // Counted before it is compared: parallel guesses get five between them.
    let counted = lockout::count(&state, &[(lockout::TOTP_CONFIRM, &session.account_id)]).await?;
    let Some(step) = matching_step(&totp(secret.to_vec(), "")?, &request.code) else {
        return Err(ApiError::bad_request(
            ErrorCode::TotpNotValid,
            "That code does not match. Check the app shows Ward, that the phone's clock is right, and type the current code.",
        ));
    };
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let confirmed = sqlx::query(
        "UPDATE totp SET confirmed_at = $1, last_step = $2 WHERE account_id = $3 AND confirmed_at IS NULL",
    )
    .bind(now_ms())
    .bind(step)
    .bind(&session.account_id)
    .execute(&mut *tx)
    .await?;
    if confirmed.rows_affected() == 1 {
        history::record_in(
            &mut tx,
            &session.account_id,
            AccountEventKind::TotpEnabled,
            Some(&session.session_id),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    counted.right(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/totp`: needs a recent sign-in (step-up). Recorded in the
/// account history.
#[utoipa::path(delete, path = "/v1/totp", tag = "totp", responses((status = 204, description = "Done"), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    session: Session,
) -> Result<StatusCode, ApiError> {
    session.require_recent_sign_in()?;
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let removed = sqlx::query("DELETE FROM totp WHERE account_id = $1 RETURNING confirmed_at")
        .bind(&session.account_id)
        .fetch_optional(&mut *tx)
        .await?;
    // Only turning off a working app is an event; dropping a pending setup is not.
    if removed.is_some_and(|row| row.get::<Option<i64>, _>("confirmed_at").is_some()) {
        history::record_in(
            &mut tx,
            &session.account_id,
            AccountEventKind::TotpDisabled,
            Some(&session.session_id),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A contact as compared and counted: e-mail lower case, phone digits only.
pub fn normalize_contact(contact: &str) -> String {
    let contact = contact.trim();
    if contact.contains('@') {
        contact.to_lowercase()
    } else {
        contact
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
}

/// `POST /v1/auth/code/start`: answers identically whether or not the
/// contact belongs to an account; a code is sent only if it does. At most
/// [`lockout::CONTACT_CODES`] a contact, counted the same way for contacts
/// with and without an account (so the limit reveals nothing either).
#[utoipa::path(post, path = "/v1/auth/code/start", tag = "sign-in", request_body = ward_proto::auth::CodeLoginStart, responses((status = 200, description = "OK", body = ward_proto::auth::CodeLoginStarted), (status = 429, description = "`too_many_codes`: five codes were sent to this contact in the last hour (Retry-After says when to try again)", body = ward_proto::ErrorBody)))]
pub async fn code_start(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<CodeLoginStart>,
) -> Result<Json<CodeLoginStarted>, ApiError> {
    bounds::contact(&request.contact)?;
    let wanted = normalize_contact(&request.contact);
    // Counted before anything is looked up or sent, atomically: twenty
    // requests at once send five codes, not twenty.
    let _counted = lockout::count(&state, &[(lockout::CONTACT_CODES, &wanted)]).await?;
    let accounts = sqlx::query(
        "SELECT account_id, contact FROM accounts WHERE kind = 'patient' AND contact IS NOT NULL",
    )
    .fetch_all(&state.db)
    .await?;
    let account = accounts
        .into_iter()
        .find(|row| normalize_contact(&row.get::<String, _>("contact")) == wanted);
    let code = secrets::six_digits()?;
    let login_id = secrets::id("lgn")?;
    let valid = i64::try_from(state.config.code_valid_minutes)
        .unwrap_or(10)
        .saturating_mul(60_000);
    sqlx::query(
        "INSERT INTO code_logins (login_id, account_id, code_hash, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&login_id)
    .bind(
        account
            .as_ref()
            .map(|row| row.get::<String, _>("account_id")),
    )
    .bind(state.secret.code_hash(&code))
    .bind(now_ms() + valid)
    .execute(&state.db)
    .await?;
    if let Some(row) = account {
        let sender = state.sender.clone();
        let contact: String = row.get("contact");
        // Not awaited, and a failure only logged: neither the answer nor
        // its timing may differ between contacts with and without an account.
        tokio::task::spawn_blocking(move || {
            if let Err(error) = sender.send(&contact, "sign-in", &code) {
                tracing::error!(%error, "sign-in code not sent");
            }
        });
    }
    Ok(Json(CodeLoginStarted { login_id }))
}

/// `POST /v1/auth/code/verify`: both factors, or nothing. The emailed code
/// is counted on its sign-in (five guesses), and the right one uses the
/// sign-in up: one authenticator-app guess per emailed code, counted
/// against the account ([`lockout::TOTP_SIGN_IN`]) before it is compared.
#[utoipa::path(post, path = "/v1/auth/code/verify", tag = "sign-in", request_body = ward_proto::auth::CodeLoginVerify, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn code_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CodeLoginVerify>,
) -> Result<Response, ApiError> {
    bounds::id("sign-in id", &request.login_id)?;
    bounds::code("code", &request.code)?;
    bounds::code("authenticator app code", &request.totp)?;
    let typed: String = request.code.chars().filter(char::is_ascii_digit).collect();
    let lockout::CodeGuess::Right(Some(account_id)) =
        lockout::code_login(&state, &request.login_id, &typed).await?
    else {
        return Err(ApiError::bad_request(
            ErrorCode::CodeNotValid,
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    };
    let totp_row = sqlx::query(
        "SELECT secret, last_step FROM totp WHERE account_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(&account_id)
    .fetch_optional(&state.db)
    .await?;
    let Some(totp_row) = totp_row else {
        return Err(ApiError::forbidden_code(
            ErrorCode::NoSecondFactor,
            "This account has no authenticator app set up, so it cannot sign in without its passkey. Call your clinic: they can help you get back in.",
        ));
    };
    let counted = lockout::count(&state, &[(lockout::TOTP_SIGN_IN, &account_id)]).await?;
    let last_step: i64 = totp_row.get("last_step");
    let secret = state
        .secret
        .open_seed(&account_id, &totp_row.get::<Vec<u8>, _>("secret"))?;
    let step =
        matching_step(&totp(secret.to_vec(), "")?, &request.totp).filter(|step| *step > last_step);
    let Some(step) = step else {
        // The emailed code is used up with it: the next guess needs a new
        // code sent to the contact.
        return Err(ApiError::bad_request(
            ErrorCode::TotpNotValid,
            "The authenticator app code does not match, or it was used already. Wait for the next code and start again for a new emailed code.",
        ));
    };
    let stepped =
        sqlx::query("UPDATE totp SET last_step = $1 WHERE account_id = $2 AND last_step < $3")
            .bind(step)
            .bind(&account_id)
            .bind(step)
            .execute(&state.db)
            .await?;
    if stepped.rows_affected() != 1 {
        return Err(ApiError::bad_request(
            ErrorCode::TotpNotValid,
            "That authenticator app code was used already. Wait for the next code and start again for a new emailed code.",
        ));
    }
    counted.right(&state).await?;
    let contact: Option<String> =
        sqlx::query_scalar("SELECT contact FROM accounts WHERE account_id = $1")
            .bind(&account_id)
            .fetch_one(&state.db)
            .await?;
    if let Some(contact) = contact {
        // The codes sent were wanted: the owner may ask for more.
        lockout::clear(&state, lockout::CONTACT_CODES, &normalize_contact(&contact)).await?;
    }
    sessions::start(
        &state,
        &account_id,
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
    .await
}
