//! The clinic's consent to messaging: the text as configured, an account
//! agreeing to exactly that text (at enrollment, before its passkey, or
//! later), withdrawing (messaging stops for it: its threads refuse new
//! messages; nothing is deleted), and the clinic reading where an account
//! stands. Each agreement and withdrawal is in the account's access log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use ward_proto::account::{
    AccountEventKind, ConsentAccept, ConsentDetail, ConsentStatus, ConsentText,
};
use ward_proto::threads::Role;
use ward_proto::{Bytes, ErrorCode};

use crate::config::CLINIC_TEXT_LANGUAGES;
use crate::error::ApiError;
use crate::extract::{JsonBody, Lang, Session};
use crate::passkeys::has_sign_in_method;
use crate::secrets::now_ms;
use crate::{AppState, history, store};

/// A consent text with its version and hash.
fn kept(version: &str, text: String) -> store::consent::Text {
    store::consent::Text {
        version: version.to_owned(),
        sha256: Sha256::digest(text.as_bytes()).to_vec(),
        text,
    }
}

/// The text as configured now, in `lang` where the relay has it in that
/// language (`?lang=es`), else in English.
fn current(state: &AppState, lang: Option<&str>) -> store::consent::Text {
    let text = lang
        .and_then(|lang| state.config.consent_text_in(lang))
        .unwrap_or_else(|| state.config.consent_text().to_owned());
    kept(&state.config.consent_version, text)
}

/// The caregiver terms as configured now, in `lang` as [`current`]: what a
/// patient agrees to by inviting a caregiver, and a teen by agreeing to a
/// guardian.
pub(crate) fn caregiver_terms(state: &AppState, lang: Option<&str>) -> store::consent::Text {
    let text = lang
        .and_then(|lang| state.config.caregiver_consent_text_in(lang))
        .unwrap_or_else(|| state.config.caregiver_consent_text().to_owned());
    kept(&state.config.caregiver_consent_version, text)
}

/// Which of the texts as they stand now (`of`: English, then each other
/// language the relay has them in) a patient was shown, by version and
/// hash; 409 `consent_changed` when none.
fn shown_one(
    of: impl Fn(Option<&str>) -> store::consent::Text,
    shown: &ConsentAccept,
) -> Result<store::consent::Text, ApiError> {
    std::iter::once(None)
        .chain(CLINIC_TEXT_LANGUAGES.iter().map(|lang| Some(*lang)))
        .map(of)
        .find(|text| shown.version == text.version && shown.sha256.0 == text.sha256)
        .ok_or_else(|| {
            ApiError::conflict(
                ErrorCode::ConsentChanged,
                "The clinic changed these terms since they were shown to you. Read the new text, then try again.",
            )
        })
}

/// The caregiver terms `shown` names, in whichever language they were
/// read; 409 `consent_changed` unless they are the terms as they stand.
pub(crate) fn caregiver_terms_shown(
    state: &AppState,
    shown: &ConsentAccept,
) -> Result<store::consent::Text, ApiError> {
    shown_one(|lang| caregiver_terms(state, lang), shown)
}

/// Records, inside the caller's transaction, that `account_id` agreed to
/// the caregiver terms `text` about `caregiver` (`method`:
/// `caregiver_invite` or `caregiver_assent`): the text kept by its hash,
/// and a `consent_given` entry in the account's access log.
pub(crate) async fn record_caregiver_terms(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    session_id: &str,
    text: &store::consent::Text,
    method: &str,
    caregiver: &str,
) -> Result<(), ApiError> {
    store::consent::keep_text(conn, text, now_ms()).await?;
    let detail = serde_json::to_string(&ConsentDetail {
        version: text.version.clone(),
        sha256: hex(&text.sha256),
        method: method.to_owned(),
        caregiver: Some(caregiver.to_owned()),
    })
    .map_err(|e| ApiError::internal("consent detail", &e))?;
    history::record_in(
        conn,
        account_id,
        AccountEventKind::ConsentGiven,
        Some(session_id),
        Some(&detail),
    )
    .await
}

fn served(text: store::consent::Text) -> ConsentText {
    ConsentText {
        version: text.version,
        text: text.text,
        sha256: Bytes(text.sha256),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn detail(text: &store::consent::Text, method: &str) -> Result<String, ApiError> {
    serde_json::to_string(&ConsentDetail {
        version: text.version.clone(),
        sha256: hex(&text.sha256),
        method: method.to_owned(),
        caregiver: None,
    })
    .map_err(|e| ApiError::internal("consent detail", &e))
}

/// Where `account_id` stands. `current` is the text as it stands in
/// `lang`; but when the account agreed to the text as it stands in another
/// language, that one (so it is not asked to agree again for having
/// switched languages).
async fn status_of(
    state: &AppState,
    account_id: &str,
    lang: Option<&str>,
) -> Result<ConsentStatus, ApiError> {
    let agreement = store::consent::of(&state.db, account_id).await?;
    let seconds = |ms: i64| u64::try_from(ms / 1000).unwrap_or(0);
    let agreed_current = agreement.as_ref().and_then(|a| {
        let named = ConsentAccept {
            version: a.text.version.clone(),
            sha256: Bytes(a.text.sha256.clone()),
        };
        shown_one(|lang| current(state, lang), &named).ok()
    });
    Ok(ConsentStatus {
        agreed_at: agreement.as_ref().map(|a| seconds(a.agreed_at)),
        method: agreement.as_ref().map(|a| a.method.clone()),
        withdrawn_at: agreement.as_ref().and_then(|a| a.withdrawn_at).map(seconds),
        agreed: agreement.map(|a| served(a.text)),
        current: served(agreed_current.unwrap_or_else(|| current(state, lang))),
    })
}

/// `GET /v1/consent`: the clinic's consent to messaging as it stands, in
/// the language asked for where the relay has it in it, else in English.
#[utoipa::path(get, path = "/v1/consent", tag = "consent", params(("lang" = Option<String>, Query, description = "The patient's language (`en`, `es`)")), responses((status = 200, description = "OK", body = ward_proto::account::ConsentText), (status = 400, description = "Bad input", body = ward_proto::ErrorBody)))]
pub async fn text(State(state): State<AppState>, Lang(lang): Lang) -> Json<ConsentText> {
    Json(served(current(&state, lang.as_deref())))
}

/// `GET /v1/caregivers/consent`: the caregiver terms as they stand (what a
/// patient agrees to by inviting a caregiver, and a patient aged 13 to 17
/// by agreeing to a guardian the clinic appointed), in the language asked
/// for as `GET /v1/consent`.
#[utoipa::path(get, path = "/v1/caregivers/consent", tag = "caregivers", params(("lang" = Option<String>, Query, description = "The patient's language (`en`, `es`)")), responses((status = 200, description = "OK", body = ward_proto::account::ConsentText), (status = 400, description = "Bad input", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn caregiver_text(
    State(state): State<AppState>,
    _session: Session,
    Lang(lang): Lang,
) -> Json<ConsentText> {
    Json(served(caregiver_terms(&state, lang.as_deref())))
}

/// `GET /v1/account/consent`: what the caller agreed to, and whether it
/// withdrew.
#[utoipa::path(get, path = "/v1/account/consent", tag = "consent", params(("lang" = Option<String>, Query, description = "The patient's language (`en`, `es`): `current` in it")), responses((status = 200, description = "OK", body = ward_proto::account::ConsentStatus), (status = 400, description = "Bad input", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    session: Session,
    Lang(lang): Lang,
) -> Result<Json<ConsentStatus>, ApiError> {
    Ok(Json(
        status_of(&state, &session.account_id, lang.as_deref()).await?,
    ))
}

/// `POST /v1/account/consent`: the caller agrees to the text it was shown,
/// which must be the one configured now (same version and SHA-256), in
/// English or in a language the relay has it in: that text is kept.
#[utoipa::path(post, path = "/v1/account/consent", tag = "consent", request_body = ward_proto::account::ConsentAccept, responses((status = 200, description = "OK: where the account stands now", body = ward_proto::account::ConsentStatus), (status = 409, description = "`consent_changed`: the text changed since it was shown", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn agree(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<ConsentAccept>,
) -> Result<Json<ConsentStatus>, ApiError> {
    // The text in whichever language the patient read it.
    let text = shown_one(|lang| current(&state, lang), &request)?;
    let now = now_ms();
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    // Before the first passkey, the session is the one the invite code and
    // the one-time code opened: the agreement is part of enrollment.
    let method = if has_sign_in_method(&mut *tx, &session.account_id).await? {
        "signed_in"
    } else {
        "enrollment"
    };
    store::consent::keep_text(&mut tx, &text, now).await?;
    store::consent::agree(&mut tx, &session.account_id, &text, method, now).await?;
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::ConsentGiven,
        Some(&session.session_id),
        Some(&detail(&text, method)?),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(status_of(&state, &session.account_id, None).await?))
}

/// `POST /v1/account/consent/withdraw`: the caller withdraws its consent.
/// Messaging stops in its threads (sends and new threads are refused with
/// `consent_withdrawn`); everything stays readable; agreeing again
/// restarts it.
#[utoipa::path(post, path = "/v1/account/consent/withdraw", tag = "consent", responses((status = 200, description = "OK: where the account stands now", body = ward_proto::account::ConsentStatus), (status = 403, description = "No consent on record to withdraw", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<ConsentStatus>, ApiError> {
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let Some(text) = store::consent::withdraw(&mut tx, &session.account_id, now_ms()).await? else {
        return Err(ApiError::forbidden(
            "There is no consent to messaging on record for this account to withdraw. To stop messaging, call the clinic.",
        ));
    };
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::ConsentWithdrawn,
        Some(&session.session_id),
        Some(&detail(&text, "")?),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(status_of(&state, &session.account_id, None).await?))
}

/// `GET /v1/accounts/{account_id}/consent` (the clinic only): where an
/// account stands.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/consent",
    tag = "consent",
    params(("account_id" = String, Path, description = "The account")),
    responses(
        (status = 200, description = "OK", body = ward_proto::account::ConsentStatus),
        (status = 403, description = "Forbidden: only the clinic reads another account's consent", body = ward_proto::ErrorBody),
        (status = 404, description = "No such account", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn of_account(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
) -> Result<Json<ConsentStatus>, ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden(
            "Only the clinic can read another account's consent.",
        ));
    }
    crate::bounds::id("account id", &account_id)?;
    if !store::accounts::exists(&state.db, &account_id).await? {
        return Err(ApiError::not_found("account"));
    }
    Ok(Json(status_of(&state, &account_id, None).await?))
}

/// The refusal of a send or a new thread after a withdrawal, worded for
/// who withdrew: the sender themselves, or the conversation's patient.
pub fn withdrawn(sender_withdrew: bool) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::ConsentWithdrawn,
        if sender_withdrew {
            "You withdrew your consent to messaging, so nothing can be sent. Your messages are kept. To message again, give your consent in Settings, or call the clinic."
        } else {
            "The patient withdrew their consent to messaging: nothing can be sent in their conversations. Call them instead."
        },
    )
}
