//! TOTP (RFC 6238): status, enroll, confirm, disable with step-up; and the
//! fallback sign-in it guards: a one-time code to the contact on file, then TOTP.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, TotpCode, TotpEnrollment, TotpStatus,
};

use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Session};
use crate::secrets::{self, now_ms};
use crate::{AppState, bounds, lockout, sessions};

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
        sqlx::query_scalar("SELECT confirmed_at FROM totp WHERE account_id = ?")
            .bind(&session.account_id)
            .fetch_optional(&state.db)
            .await?;
    Ok(Json(TotpStatus {
        enabled: matches!(confirmed, Some(Some(_))),
        pending: matches!(confirmed, Some(None)),
    }))
}

/// `POST /v1/totp/enroll`
#[utoipa::path(post, path = "/v1/totp/enroll", tag = "totp", responses((status = 200, description = "OK", body = ward_proto::auth::TotpEnrollment), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn enroll(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<TotpEnrollment>, ApiError> {
    session.require_recent_sign_in()?;
    let confirmed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT confirmed_at FROM totp WHERE account_id = ?")
            .bind(&session.account_id)
            .fetch_optional(&state.db)
            .await?;
    if matches!(confirmed, Some(Some(_))) {
        return Err(ApiError::conflict(
            "totp_enabled",
            "An authenticator app is already set up. Turn it off first to set up another.",
        ));
    }
    let secret = secrets::random::<20>()?.to_vec();
    let name: String = sqlx::query_scalar("SELECT display_name FROM accounts WHERE account_id = ?")
        .bind(&session.account_id)
        .fetch_one(&state.db)
        .await?;
    let generator = totp(secret.clone(), &name)?;
    sqlx::query(
        "INSERT INTO totp (account_id, secret) VALUES (?, ?)
         ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0",
    )
    .bind(&session.account_id)
    .bind(&secret)
    .execute(&state.db)
    .await?;
    Ok(Json(TotpEnrollment {
        secret_base32: Secret::Raw(secret).to_encoded().to_string(),
        otpauth_uri: generator.get_url(),
    }))
}

/// `POST /v1/totp/confirm`
#[utoipa::path(post, path = "/v1/totp/confirm", tag = "totp", request_body = ward_proto::auth::TotpCode, responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<TotpCode>,
) -> Result<StatusCode, ApiError> {
    bounds::code("code", &request.code)?;
    let key = format!("totp:{}", session.account_id);
    lockout::check(&state, &key).await?;
    let secret: Vec<u8> =
        sqlx::query_scalar("SELECT secret FROM totp WHERE account_id = ? AND confirmed_at IS NULL")
            .bind(&session.account_id)
            .fetch_optional(&state.db)
            .await?
            .ok_or_else(|| {
                ApiError::conflict(
                    "no_pending_totp",
                    "Start setting up the authenticator app first.",
                )
            })?;
    let Some(step) = matching_step(&totp(secret, "")?, &request.code) else {
        lockout::fail(&state, &key).await?;
        return Err(ApiError::bad_request(
            "totp_not_valid",
            "That code does not match. Check the app shows Ward, that the phone's clock is right, and type the current code.",
        ));
    };
    sqlx::query("UPDATE totp SET confirmed_at = ?, last_step = ? WHERE account_id = ?")
        .bind(now_ms())
        .bind(step)
        .bind(&session.account_id)
        .execute(&state.db)
        .await?;
    lockout::succeed(&state, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/totp`: needs a recent sign-in (step-up).
#[utoipa::path(delete, path = "/v1/totp", tag = "totp", responses((status = 204, description = "Done"), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    session: Session,
) -> Result<StatusCode, ApiError> {
    session.require_recent_sign_in()?;
    sqlx::query("DELETE FROM totp WHERE account_id = ?")
        .bind(&session.account_id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn normalize_contact(contact: &str) -> String {
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
/// contact belongs to an account; a code is sent only if it does.
#[utoipa::path(post, path = "/v1/auth/code/start", tag = "sign-in", request_body = ward_proto::auth::CodeLoginStart, responses((status = 200, description = "OK", body = ward_proto::auth::CodeLoginStarted), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn code_start(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(request): JsonBody<CodeLoginStart>,
) -> Result<Json<CodeLoginStarted>, ApiError> {
    bounds::contact(&request.contact)?;
    let addr_key = format!("code-login-addr:{addr}");
    lockout::check(&state, &addr_key).await?;
    let wanted = normalize_contact(&request.contact);
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
        "INSERT INTO code_logins (login_id, account_id, code_hash, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(&login_id)
    .bind(
        account
            .as_ref()
            .map(|row| row.get::<String, _>("account_id")),
    )
    .bind(secrets::hash(&code))
    .bind(now_ms() + valid)
    .execute(&state.db)
    .await?;
    // At most a few codes per account before backing off, so nobody can
    // bomb a contact with codes; silently, so the cap reveals nothing.
    let send_key = account
        .as_ref()
        .map(|row| format!("code-send:{}", row.get::<String, _>("account_id")));
    let may_send = match &send_key {
        Some(key) => lockout::check(&state, key).await.is_ok(),
        None => false,
    };
    if let (Some(row), true) = (account, may_send) {
        if let Some(key) = &send_key {
            lockout::fail(&state, key).await?;
        }
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

/// `POST /v1/auth/code/verify`: both factors, or nothing.
#[utoipa::path(post, path = "/v1/auth/code/verify", tag = "sign-in", request_body = ward_proto::auth::CodeLoginVerify, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn code_verify(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CodeLoginVerify>,
) -> Result<Response, ApiError> {
    bounds::id("sign-in id", &request.login_id)?;
    bounds::code("code", &request.code)?;
    bounds::code("authenticator app code", &request.totp)?;
    let addr_key = format!("code-login-addr:{addr}");
    let login_key = format!("code-login:{}", request.login_id);
    lockout::check(&state, &addr_key).await?;
    lockout::check(&state, &login_key).await?;
    let typed: String = request.code.chars().filter(char::is_ascii_digit).collect();
    // Counted on the login itself, atomically, before the code is compared.
    let row = sqlx::query(
        "UPDATE code_logins SET attempts = attempts + 1
         WHERE login_id = ? AND used_at IS NULL AND expires_at > ? AND attempts < 5
         RETURNING account_id, code_hash",
    )
    .bind(&request.login_id)
    .bind(now_ms())
    .fetch_optional(&state.db)
    .await?
    .filter(|row| row.get::<Vec<u8>, _>("code_hash") == secrets::hash(&typed));
    let Some(account_id) = row.and_then(|row| row.get::<Option<String>, _>("account_id")) else {
        lockout::fail(&state, &login_key).await?;
        lockout::fail(&state, &addr_key).await?;
        return Err(ApiError::bad_request(
            "code_not_valid",
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    };
    let account_key = format!("totp:{account_id}");
    lockout::check(&state, &account_key).await?;
    let totp_row = sqlx::query(
        "SELECT secret, last_step FROM totp WHERE account_id = ? AND confirmed_at IS NOT NULL",
    )
    .bind(&account_id)
    .fetch_optional(&state.db)
    .await?;
    let Some(totp_row) = totp_row else {
        return Err(ApiError::forbidden_code(
            "no_second_factor",
            "This account has no authenticator app set up, so it cannot sign in without its passkey. Call your clinic: they can help you get back in.",
        ));
    };
    let last_step: i64 = totp_row.get("last_step");
    let step = matching_step(&totp(totp_row.get("secret"), "")?, &request.totp)
        .filter(|step| *step > last_step);
    let Some(step) = step else {
        // A wrong TOTP code uses up this sign-in: the next guess needs a new
        // code sent to the contact.
        sqlx::query("UPDATE code_logins SET used_at = ? WHERE login_id = ?")
            .bind(now_ms())
            .bind(&request.login_id)
            .execute(&state.db)
            .await?;
        lockout::fail(&state, &account_key).await?;
        lockout::fail(&state, &addr_key).await?;
        return Err(ApiError::bad_request(
            "totp_not_valid",
            "The authenticator app code does not match, or it was used already. Wait for the next code and try again.",
        ));
    };
    let mut tx = state.db.begin().await?;
    let used =
        sqlx::query("UPDATE code_logins SET used_at = ? WHERE login_id = ? AND used_at IS NULL")
            .bind(now_ms())
            .bind(&request.login_id)
            .execute(&mut *tx)
            .await?;
    let stepped =
        sqlx::query("UPDATE totp SET last_step = ? WHERE account_id = ? AND last_step < ?")
            .bind(step)
            .bind(&account_id)
            .bind(step)
            .execute(&mut *tx)
            .await?;
    if used.rows_affected() != 1 || stepped.rows_affected() != 1 {
        return Err(ApiError::bad_request(
            "code_not_valid",
            "That sign-in was already used. Start again for a new code.",
        ));
    }
    tx.commit().await?;
    lockout::succeed(&state, &login_key).await?;
    lockout::succeed(&state, &account_key).await?;
    lockout::succeed(&state, &format!("code-send:{account_id}")).await?;
    sessions::start(
        &state,
        &account_id,
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    )
    .await
}
