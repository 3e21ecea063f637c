//! Clinic setup, sign-in by account key (the clinic agent), sign-out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::SignInMethod;
use ward_proto::auth::{
    ClinicInfo, ClinicSetupRequest, KeyChallenge, KeyChallengeRequest, KeyLoginRequest,
};
use ward_seal::keys::PublicBundle;

use crate::access::{self, Attempt};
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Lang, Session};
use crate::secrets::{self, now_ms};
use crate::{AppState, bounds, lockout, sessions, store};

const CHALLENGE_VALID_MS: i64 = 120_000;

/// Checks a display name: what a person typed, bounded.
pub fn display_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidDisplayName,
            "A name must be 1 to 100 characters, without line breaks.",
        ));
    }
    Ok(name.to_owned())
}

/// `POST /v1/clinic/setup`
#[utoipa::path(post, path = "/v1/clinic/setup", tag = "clinic", request_body = ward_proto::auth::ClinicSetupRequest, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody), (status = 429, description = "Locked out: too many setup codes tried from this address", body = ward_proto::ErrorBody)))]
pub async fn clinic_setup(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ClinicSetupRequest>,
) -> Result<Response, ApiError> {
    bounds::code("setup code", &request.setup_code)?;
    let name = display_name(&request.display_name)?;
    // Counted before the code is compared.
    let counted = lockout::count(
        &state,
        &[(lockout::SETUP_GUESSES, &lockout::address(&addr))],
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let now = now_ms();
    let used =
        store::setup::use_code(&mut tx, &secrets::hash(request.setup_code.trim()), now).await?;
    if !used {
        drop(tx);
        return Err(ApiError::forbidden(
            "That setup code is not valid or was already used. Use the code in the relay's data directory.",
        ));
    }
    // Any other unused code (another relay instance's) is void now.
    store::setup::void_unused(&mut tx, now).await?;
    let account_id = secrets::id("clinic")?;
    store::accounts::insert_clinic(&mut tx, &account_id, &name, now).await?;
    tx.commit().await?;
    counted.right(&state).await?;
    tracing::info!(account_id, "clinic inbox account created");
    let attempt = Attempt::new(SignInMethod::Setup, &headers, &addr);
    sessions::start(&state, &account_id, &attempt).await
}

/// `GET /v1/clinic`: the clinic inbox's id and name, and the office hours,
/// reply time and emergency notice that patients see before their first
/// message, in the language asked for (`?lang=es`) where the relay has
/// them in it, else as configured. A language the relay has no texts in
/// is not an error: the texts come as configured.
#[utoipa::path(get, path = "/v1/clinic", tag = "clinic", params(("lang" = Option<String>, Query, description = "The patient's language (`en`, `es`): the clinic texts in it where the relay has them")), responses((status = 200, description = "OK", body = ward_proto::auth::ClinicInfo), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn clinic_info(
    State(state): State<AppState>,
    _session: Session,
    Lang(lang): Lang,
) -> Result<Json<ClinicInfo>, ApiError> {
    let clinic = store::accounts::clinic(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("clinic"))?;
    let texts = lang
        .as_deref()
        .and_then(|lang| state.config.clinic_texts().remove(lang))
        .unwrap_or_default();
    Ok(Json(ClinicInfo {
        account_id: clinic.account_id,
        display_name: clinic.display_name,
        office_hours: texts
            .office_hours
            .or_else(|| state.config.office_hours().map(str::to_owned)),
        reply_time: texts
            .reply_time
            .unwrap_or_else(|| state.config.reply_time().to_owned()),
        emergency_notice: texts
            .emergency_notice
            .unwrap_or_else(|| state.config.emergency_notice().to_owned()),
        max_attachment_bytes: state.config.max_attachment_bytes,
        allowed_attachment_types: state.config.allowed_attachment_types.clone(),
    }))
}

/// `POST /v1/auth/key/challenge`. Answers the same way whether or not the
/// account exists (a challenge that can never verify), so it reveals nothing.
#[utoipa::path(post, path = "/v1/auth/key/challenge", tag = "sign-in", request_body = ward_proto::auth::KeyChallengeRequest, responses((status = 200, description = "OK", body = ward_proto::auth::KeyChallenge)))]
pub async fn key_challenge(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<KeyChallengeRequest>,
) -> Result<Json<KeyChallenge>, ApiError> {
    bounds::id("account id", &request.account_id)?;
    let challenge = secrets::random::<32>()?;
    let challenge_id = secrets::id("chl")?;
    if store::accounts::is_clinic(&state.db, &request.account_id).await? {
        store::keys::add_challenge(
            &state.db,
            &challenge_id,
            &request.account_id,
            challenge.as_slice(),
            now_ms() + CHALLENGE_VALID_MS,
        )
        .await?;
    }
    Ok(Json(KeyChallenge {
        challenge_id,
        challenge: Bytes(challenge.to_vec()),
    }))
}

/// `POST /v1/auth/key/login`
#[utoipa::path(post, path = "/v1/auth/key/login", tag = "sign-in", request_body = ward_proto::auth::KeyLoginRequest, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 401, description = "Not signed in or refused", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn key_login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<KeyLoginRequest>,
) -> Result<Response, ApiError> {
    bounds::id("challenge id", &request.challenge_id)?;
    // Single use: the challenge is deleted whatever happens next.
    let taken = store::keys::take_challenge(&state.db, &request.challenge_id, now_ms()).await?;
    let refused = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::LoginFailed,
            "Sign-in failed: the challenge expired or the signature does not match. Ask for a new challenge.",
        )
    };
    let Some(store::keys::Challenge {
        account_id,
        challenge,
    }) = taken
    else {
        return Err(lockout::failed_signature(&state, &addr, refused()).await);
    };
    let attempt = Attempt::new(SignInMethod::AccountKey, &headers, &addr);
    let bundle = store::keys::bundle(&state.db, &account_id).await?;
    let verified = bundle
        .and_then(|bytes| PublicBundle::from_bytes(&bytes).ok())
        .is_some_and(|bundle| {
            bundle
                .verify_login(&challenge, &request.signature.0)
                .is_ok()
        });
    // A signature cannot be guessed: it is checked first, and only a failure
    // counts (per address, never per account: that would let anyone lock
    // the clinic agent out). A valid signature always signs in.
    if !verified {
        access::failed(&state, &account_id, &attempt);
        return Err(lockout::failed_signature(&state, &addr, refused()).await);
    }
    sessions::start(&state, &account_id, &attempt).await
}

/// `POST /v1/auth/logout`: ends this session server-side and clears the cookie.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "sign-in", responses((status = 204, description = "Done")), security(("session" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    session: Session,
) -> Result<Response, ApiError> {
    sessions::sign_out(&state, &session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(clear) = axum::http::HeaderValue::from_str(&sessions::clear_cookie(&state, &headers))
    {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    response.headers_mut().insert(
        axum::http::HeaderName::from_static("clear-site-data"),
        axum::http::HeaderValue::from_static("\"cache\", \"storage\""),
    );
    Ok(response)
}
