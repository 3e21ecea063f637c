//! TOTP (RFC 6238): status, enroll, confirm, disable with step-up; and the
//! fallback sign-in it guards: a one-time code to the contact on file, then TOTP.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use totp_rs::{Algorithm, Secret, TOTP};
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, SignInMethod};
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, TotpCode, TotpEnrollment, TotpStatus,
};

use crate::access::{self, Attempt};
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Session};
use crate::secrets::{self, now_ms};
use crate::{AppState, bounds, history, lockout, sessions, store};

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
    let app = store::totp::state(&state.db, &session.account_id).await?;
    Ok(Json(TotpStatus {
        enabled: app == Some(store::totp::State::Enabled),
        pending: app == Some(store::totp::State::Pending),
    }))
}

/// `POST /v1/totp/enroll`: needs a recent sign-in (step-up).
#[utoipa::path(post, path = "/v1/totp/enroll", tag = "totp", responses((status = 200, description = "OK", body = ward_proto::auth::TotpEnrollment), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn enroll(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<TotpEnrollment>, ApiError> {
    session.require_recent_sign_in()?;
    let app = store::totp::state(&state.db, &session.account_id).await?;
    if app == Some(store::totp::State::Enabled) {
        return Err(ApiError::conflict(
            ErrorCode::TotpEnabled,
            "An authenticator app is already set up. Turn it off first to set up another.",
        ));
    }
    let secret = secrets::random::<20>()?.to_vec();
    let name = store::accounts::display_name(&state.db, &session.account_id).await?;
    let generator = totp(secret.clone(), &name)?;
    // Stored sealed under the relay's secret, never in the clear.
    let sealed = state.secret.seal_seed(&session.account_id, &secret)?;
    store::totp::set_pending(&state.db, &session.account_id, &sealed).await?;
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
    let sealed = store::totp::pending_seed(&state.db, &session.account_id).await?;
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
    let confirmed = store::totp::confirm(&mut tx, &session.account_id, step, now_ms()).await?;
    if confirmed {
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
    let removed = store::totp::remove(&mut tx, &session.account_id).await?;
    // Only turning off a working app is an event; dropping a pending setup is not.
    if removed == Some(store::totp::State::Enabled) {
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
    let account = store::accounts::contactable_patients(&state.db)
        .await?
        .into_iter()
        .find(|account| normalize_contact(&account.contact) == wanted);
    let code = secrets::six_digits()?;
    let login_id = secrets::id("lgn")?;
    let valid = i64::try_from(state.config.code_valid_minutes)
        .unwrap_or(10)
        .saturating_mul(60_000);
    store::code_logins::insert(
        &state.db,
        &login_id,
        account.as_ref().map(|account| account.account_id.as_str()),
        &state.secret.code_hash(&code),
        now_ms() + valid,
    )
    .await?;
    if let Some(account) = account {
        let sender = state.sender.clone();
        let contact = account.contact;
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
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<CodeLoginVerify>,
) -> Result<Response, ApiError> {
    bounds::id("sign-in id", &request.login_id)?;
    bounds::code("code", &request.code)?;
    bounds::code("authenticator app code", &request.totp)?;
    let typed: String = request.code.chars().filter(char::is_ascii_digit).collect();
    let attempt = Attempt::new(SignInMethod::Code, &headers, &addr);
    let guess = lockout::code_login(&state, &request.login_id, &typed).await?;
    if let lockout::CodeGuess::Wrong(Some(account_id)) = &guess {
        access::failed(&state, account_id, &attempt);
    }
    let lockout::CodeGuess::Right(Some(account_id)) = guess else {
        return Err(ApiError::bad_request(
            ErrorCode::CodeNotValid,
            "That code is not right, or it expired. Check the latest message we sent, or start again for a new code.",
        ));
    };
    let totp_row = store::totp::confirmed(&state.db, &account_id).await?;
    let Some(totp_row) = totp_row else {
        return Err(ApiError::forbidden_code(
            ErrorCode::NoSecondFactor,
            "This account has no authenticator app set up, so it cannot sign in without its passkey. Call your clinic: they can help you get back in.",
        ));
    };
    let counted = lockout::count(&state, &[(lockout::TOTP_SIGN_IN, &account_id)]).await?;
    let last_step = totp_row.last_step;
    let secret = state.secret.open_seed(&account_id, &totp_row.sealed)?;
    let step =
        matching_step(&totp(secret.to_vec(), "")?, &request.totp).filter(|step| *step > last_step);
    let Some(step) = step else {
        access::failed(&state, &account_id, &attempt);
        // The emailed code is used up with it: the next guess needs a new
        // code sent to the contact.
        return Err(ApiError::bad_request(
            ErrorCode::TotpNotValid,
            "The authenticator app code does not match, or it was used already. Wait for the next code and start again for a new emailed code.",
        ));
    };
    let stepped = store::totp::use_step(&state.db, &account_id, step).await?;
    if !stepped {
        return Err(ApiError::bad_request(
            ErrorCode::TotpNotValid,
            "That authenticator app code was used already. Wait for the next code and start again for a new emailed code.",
        ));
    }
    counted.right(&state).await?;
    let contact = store::accounts::contact(&state.db, &account_id).await?;
    if let Some(contact) = contact {
        // The codes sent were wanted: the owner may ask for more.
        lockout::clear(&state, lockout::CONTACT_CODES, &normalize_contact(&contact)).await?;
    }
    sessions::start(&state, &account_id, &attempt).await
}
