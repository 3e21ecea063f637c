//! Passkey registration, listing, renaming and removal, and sign-in with a
//! passkey.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, SignInMethod};
use ward_proto::passkeys::{
    AuthenticationStarted, FinishAuthentication, FinishRegistration, PasskeyInfo, PasskeyList,
    RegistrationStarted, RenamePasskey, StartAuthentication,
};
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    WebauthnError,
};
use webauthn_rs_proto::{AllowCredentials, ResidentKeyRequirement};

use super::auth::display_name;
use crate::access::{self, Attempt};
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, STEP_UP_MS, Session, step_up_required};
use crate::passkeys::{
    CEREMONY_VALID_MS, CeremonyKind, account_for_handle, has_sign_in_method, of_account,
    save_ceremony, take_ceremony, user_handle,
};
use crate::secrets::{self, now_ms};
use crate::{AppState, bounds, history, lockout, sessions, store};

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::PasskeyFailed,
        "That passkey could not sign you in. Try again, or use another way to sign in.",
    )
}

/// `POST /v1/passkeys/register/start`: needs a recent sign-in (step-up),
/// except the first passkey of an account that cannot sign in yet.
#[utoipa::path(post, path = "/v1/passkeys/register/start", tag = "passkeys", responses((status = 200, description = "OK", body = ward_proto::passkeys::RegistrationStarted), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn register_start(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<RegistrationStarted>, ApiError> {
    // A stolen session must not be able to add a lasting way in. An account
    // that cannot sign in yet got every session it has from its invite and
    // a code just sent to its contact: it adds its first passkey as it is
    // (`register_finish` checks again, atomically with the insert).
    if !session.signed_in_recently() && has_sign_in_method(&state.db, &session.account_id).await? {
        return Err(step_up_required());
    }
    let handle = user_handle(&state, &session.account_id).await?;
    let name = store::accounts::display_name(&state.db, &session.account_id).await?;
    let existing: Vec<CredentialID> = of_account(&state, &session.account_id)
        .await?
        .iter()
        .map(|(_, passkey)| passkey.cred_id().clone())
        .collect();
    let (mut options, registration) = state
        .webauthn
        .start_passkey_registration(handle, &session.account_id, &name, Some(existing))
        .map_err(|e| ApiError::internal("passkey registration", &e))?;
    // Ask for a discoverable credential (sign-in without a username), but
    // accept a non-discoverable one: older security keys cannot store it.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
    }
    let ceremony_id = save_ceremony(
        &state,
        CeremonyKind::Register,
        Some(&session.account_id),
        &registration,
    )
    .await?;
    Ok(Json(RegistrationStarted {
        ceremony_id,
        options,
    }))
}

/// `POST /v1/passkeys/register/finish`: the step-up rule of `start`,
/// checked again in the insert itself.
#[utoipa::path(post, path = "/v1/passkeys/register/finish", tag = "passkeys", request_body = ward_proto::passkeys::FinishRegistration, responses((status = 201, description = "Created", body = ward_proto::passkeys::PasskeyInfo), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn register_finish(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<FinishRegistration>,
) -> Result<(StatusCode, Json<PasskeyInfo>), ApiError> {
    bounds::id("passkey request id", &request.ceremony_id)?;
    let label = display_name(&request.label)?;
    let (account, registration): (Option<String>, PasskeyRegistration) =
        take_ceremony(&state, &request.ceremony_id, CeremonyKind::Register).await?;
    if account.as_deref() != Some(session.account_id.as_str()) {
        return Err(ApiError::bad_request(
            ErrorCode::CeremonyExpired,
            "That passkey request belongs to another session. Start again.",
        ));
    }
    let passkey = state
        .webauthn
        .finish_passkey_registration(&request.credential, &registration)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            ApiError::bad_request(
                ErrorCode::PasskeyNotRegistered,
                "The passkey could not be added. Make sure your device can verify you (PIN, fingerprint or face), then try again.",
            )
        })?;
    let passkey_id = secrets::id("pk")?;
    let now = now_ms();
    let json = serde_json::to_string(&passkey).map_err(|e| ApiError::internal("passkey", &e))?;
    // One statement: a stale session whose account gained a way to sign in
    // since `start` (say, two first passkeys at once) cannot add another.
    // The condition is `passkeys::has_sign_in_method`, negated. A session
    // recent enough for `start`'s step-up when this (live) ceremony began
    // still finishes it.
    let recent = now - session.created_at <= STEP_UP_MS + CEREMONY_VALID_MS;
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let stored = store::passkeys::add(
        &mut tx,
        store::passkeys::NewPasskey {
            passkey_id: &passkey_id,
            account_id: &session.account_id,
            credential_id: passkey.cred_id().as_slice(),
            passkey: &json,
            label: &label,
            created_at: now,
        },
        recent,
    )
    .await?;
    if !stored {
        drop(tx);
        if store::passkeys::credential_exists(&state.db, passkey.cred_id().as_slice()).await? {
            return Err(ApiError::conflict(
                ErrorCode::PasskeyExists,
                "This passkey is already registered.",
            ));
        }
        return Err(step_up_required());
    }
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::PasskeyAdded,
        Some(&session.session_id),
        Some(&label),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PasskeyInfo {
            passkey_id,
            label,
            created_at: u64::try_from(now / 1000).unwrap_or(0),
            last_used_at: u64::try_from(now / 1000).ok(),
        }),
    ))
}

/// `GET /v1/passkeys`
#[utoipa::path(get, path = "/v1/passkeys", tag = "passkeys", responses((status = 200, description = "OK", body = ward_proto::passkeys::PasskeyList)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = store::passkeys::list(&state.db, &session.account_id)
        .await?
        .into_iter()
        .map(info)
        .collect();
    Ok(Json(PasskeyList { passkeys }))
}

/// A stored passkey as the client sees it (milliseconds become seconds).
fn info(stored: store::passkeys::Listed) -> PasskeyInfo {
    PasskeyInfo {
        passkey_id: stored.passkey_id,
        label: stored.label,
        created_at: u64::try_from(stored.created_at / 1000).unwrap_or(0),
        last_used_at: stored
            .last_used_at
            .map(|t| u64::try_from(t / 1000).unwrap_or(0)),
    }
}

/// `PATCH /v1/passkeys/{id}`: a new label, checked as at registration. No
/// step-up: a name changes nothing about who can sign in.
#[utoipa::path(patch, path = "/v1/passkeys/{passkey_id}", tag = "passkeys", params(("passkey_id" = String, Path, description = "The passkey")), request_body = ward_proto::passkeys::RenamePasskey, responses((status = 200, description = "OK", body = ward_proto::passkeys::PasskeyInfo), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn rename(
    State(state): State<AppState>,
    session: Session,
    Path(passkey_id): Path<String>,
    JsonBody(request): JsonBody<RenamePasskey>,
) -> Result<Json<PasskeyInfo>, ApiError> {
    let label = display_name(&request.label)?;
    let renamed = store::passkeys::rename(&state.db, &session.account_id, &passkey_id, &label)
        .await?
        .ok_or_else(|| ApiError::not_found("passkey"))?;
    Ok(Json(info(renamed)))
}

/// `DELETE /v1/passkeys/{id}`: refuses to remove the last one.
#[utoipa::path(delete, path = "/v1/passkeys/{passkey_id}", tag = "passkeys", params(("passkey_id" = String, Path, description = "The passkey")), responses((status = 204, description = "Done"), (status = 404, description = "Not found", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(passkey_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    session.require_recent_sign_in()?;
    let exists = store::passkeys::exists(&state.db, &session.account_id, &passkey_id).await?;
    if !exists {
        return Err(ApiError::not_found("passkey"));
    }
    // One statement: two removals at once cannot leave the account with none.
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let removed =
        store::passkeys::remove_unless_last(&mut tx, &session.account_id, &passkey_id).await?;
    if let Some(label) = removed {
        history::record_in(
            &mut tx,
            &session.account_id,
            AccountEventKind::PasskeyRemoved,
            Some(&session.session_id),
            Some(&label),
        )
        .await?;
        tx.commit().await?;
    } else {
        return Err(ApiError::conflict(
            ErrorCode::LastPasskey,
            "This is your only passkey. Add another one first, so you can still sign in.",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// How many bytes a decoy credential id has (as many authenticators' ids).
const DECOY_CREDENTIAL_ID_LEN: usize = 32;

/// `POST /v1/auth/passkey/start`
///
/// With an account id, the same answer whether or not the account exists
/// or has passkeys: for one that has none (or does not exist), the options
/// list a decoy credential id derived from the relay's secret and the id
/// (the same on every try), and a ceremony is stored that no passkey can
/// finish. Nobody learns from it which accounts exist, nor their
/// credential ids.
#[utoipa::path(post, path = "/v1/auth/passkey/start", tag = "sign-in", request_body = ward_proto::passkeys::StartAuthentication, responses((status = 200, description = "OK (also for an unknown account: its options list decoy credentials)", body = ward_proto::passkeys::AuthenticationStarted)))]
pub async fn sign_in_start(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<StartAuthentication>,
) -> Result<Json<AuthenticationStarted>, ApiError> {
    if let Some(account_id) = &request.account_id {
        bounds::id("account id", account_id)?;
    }
    let started = match request.account_id {
        Some(account_id) => {
            let passkeys: Vec<Passkey> = of_account(&state, &account_id)
                .await?
                .into_iter()
                .map(|(_, passkey)| passkey)
                .collect();
            let (mut options, authentication) = state
                .webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(|e| ApiError::internal("passkey sign-in", &e))?;
            let owner = if passkeys.is_empty() {
                options.public_key.allow_credentials = state
                    .secret
                    .decoy_credential_ids(&account_id, 1, DECOY_CREDENTIAL_ID_LEN)
                    .into_iter()
                    .map(|id| AllowCredentials {
                        type_: "public-key".into(),
                        id,
                        transports: None,
                    })
                    .collect();
                None
            } else {
                Some(account_id.as_str())
            };
            let id =
                save_ceremony(&state, CeremonyKind::Authenticate, owner, &authentication).await?;
            (id, options)
        }
        None => {
            let (options, authentication) = state
                .webauthn
                .start_discoverable_authentication()
                .map_err(|e| ApiError::internal("passkey sign-in", &e))?;
            let id = save_ceremony(&state, CeremonyKind::Discover, None, &authentication).await?;
            (id, options)
        }
    };
    Ok(Json(AuthenticationStarted {
        ceremony_id: started.0,
        options: started.1,
    }))
}

/// `POST /v1/auth/passkey/finish`
#[utoipa::path(post, path = "/v1/auth/passkey/finish", tag = "sign-in", request_body = ward_proto::passkeys::FinishAuthentication, responses((status = 200, description = "OK", body = ward_proto::auth::SessionCreated), (status = 401, description = "Not signed in or refused", body = ward_proto::ErrorBody), (status = 429, description = "Locked out", body = ward_proto::ErrorBody)))]
pub async fn sign_in_finish(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    JsonBody(request): JsonBody<FinishAuthentication>,
) -> Result<Response, ApiError> {
    bounds::id("passkey request id", &request.ceremony_id)?;
    // A passkey's signature cannot be guessed: it is checked first, and
    // only failures count (per address). A valid one always signs in,
    // whoever else shares the address.
    let kind = store::passkeys::ceremony_kind(&state.db, &request.ceremony_id).await?;
    let credential_id = request.credential.get_credential_id().to_vec();
    // The account the passkey belongs to, once known, so a failure is
    // recorded in its log (a decoy ceremony has none).
    let mut account_tried = None;
    let outcome = match kind {
        Some(CeremonyKind::Authenticate) => {
            let (account, authentication): (Option<String>, PasskeyAuthentication) =
                take_ceremony(&state, &request.ceremony_id, CeremonyKind::Authenticate).await?;
            account_tried.clone_from(&account);
            match account {
                Some(account) => state
                    .webauthn
                    .finish_passkey_authentication(&request.credential, &authentication)
                    .map(|result| (account, result)),
                // A decoy ceremony (no such account, or no passkey): it
                // fails, and counts, like a wrong passkey.
                None => Err(WebauthnError::CredentialNotFound),
            }
        }
        Some(CeremonyKind::Discover) => {
            let (_, authentication): (Option<String>, DiscoverableAuthentication) =
                take_ceremony(&state, &request.ceremony_id, CeremonyKind::Discover).await?;
            let (handle, _) = state
                .webauthn
                .identify_discoverable_authentication(&request.credential)
                .map_err(|_| refused())?;
            let account = account_for_handle(&state, &handle)
                .await?
                .ok_or_else(refused)?;
            let passkey = of_account(&state, &account)
                .await?
                .into_iter()
                .map(|(_, passkey)| passkey)
                .find(|passkey| passkey.cred_id().as_slice() == credential_id.as_slice())
                .ok_or_else(refused)?;
            account_tried = Some(account.clone());
            state
                .webauthn
                .finish_discoverable_authentication_v2(
                    &request.credential,
                    authentication,
                    &passkey,
                )
                .map(|result| (account, result))
        }
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::CeremonyExpired,
                "The passkey request expired or was already used. Start again.",
            ));
        }
    };
    let attempt = Attempt::new(SignInMethod::Passkey, &headers, &addr);
    let (account_id, result) = match outcome {
        Ok(done) => done,
        Err(error) => {
            tracing::info!(%error, "passkey sign-in refused");
            if let Some(account) = &account_tried {
                access::failed(&state, account, &attempt);
            }
            return Err(lockout::failed_signature(&state, &addr, refused()).await);
        }
    };
    // Keep the signature counter current (clone detection) and note use.
    let stored =
        store::passkeys::by_credential(&state.db, &account_id, result.cred_id().as_slice())
            .await?
            .ok_or_else(refused)?;
    let mut passkey = crate::passkeys::parse(&stored.passkey)?;
    passkey.update_credential(&result);
    let json = serde_json::to_string(&passkey).map_err(|e| ApiError::internal("passkey", &e))?;
    store::passkeys::record_use(&state.db, &stored.passkey_id, &json, now_ms()).await?;
    sessions::start(&state, &account_id, &attempt).await
}
