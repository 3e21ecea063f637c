//! The relay's API routes, one module per resource.

mod account;
mod auth;
mod caregivers;
mod consent;
mod embed;
mod enroll;
mod events;
mod health;
mod keys;
mod metrics;
mod openapi;
mod passkeys;
mod push;
mod sessions;
mod threads;
mod totp;
mod uploads;
mod vault;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;
use ward_proto::ErrorCode;
use ward_proto::HEALTH_PATH;

use crate::AppState;
use crate::error::ApiError;

/// Request bodies are small JSON, except messages (an envelope of up to
/// 640 KiB, base64url-encoded) and attachment parts (raw, up to 2 MiB).
const BODY_LIMIT: usize = 64 * 1024;
const MESSAGE_BODY_LIMIT: usize = 1024 * 1024;

/// Every API route; the web client is mounted beside these by `web`.
pub fn router() -> Router<AppState> {
    let messages = Router::new()
        .route(
            "/v1/threads/{thread_id}/messages",
            post(threads::post_message).get(threads::list_messages),
        )
        .layer(DefaultBodyLimit::max(MESSAGE_BODY_LIMIT));
    let parts = Router::new()
        .route(
            "/v1/uploads/{upload_id}/parts/{index}",
            put(uploads::put_part),
        )
        .layer(DefaultBodyLimit::max(uploads::PART_BODY_LIMIT));
    let api = Router::new()
        .route("/v1/openapi.json", get(openapi::get))
        .route("/v1/clinic/setup", post(auth::clinic_setup))
        .route("/v1/clinic", get(auth::clinic_info))
        .route("/v1/embed", get(embed::info))
        .route("/v1/auth/key/challenge", post(auth::key_challenge))
        .route("/v1/auth/key/login", post(auth::key_login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/sessions", get(sessions::list))
        .route(
            "/v1/sessions/{session_id}",
            axum::routing::delete(sessions::revoke),
        )
        .route("/v1/passkeys", get(passkeys::list))
        .route(
            "/v1/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/v1/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route(
            "/v1/passkeys/{passkey_id}",
            axum::routing::delete(passkeys::remove).patch(passkeys::rename),
        )
        .route("/v1/auth/passkey/start", post(passkeys::sign_in_start))
        .route("/v1/auth/passkey/finish", post(passkeys::sign_in_finish))
        .route("/v1/totp/enroll", post(totp::enroll))
        .route("/v1/totp/confirm", post(totp::confirm))
        .route("/v1/totp", get(totp::status).delete(totp::disable))
        .route("/v1/auth/code/start", post(totp::code_start))
        .route("/v1/auth/code/verify", post(totp::code_verify))
        .route("/v1/invites", post(enroll::create_invite))
        .route("/v1/caregivers", get(caregivers::list))
        .route(
            "/v1/caregivers/{account_id}",
            axum::routing::patch(caregivers::change_grant),
        )
        .route("/v1/caregivers/{account_id}/end", post(caregivers::end))
        .route("/v1/caregivers/accept", post(caregivers::accept))
        .route("/v1/caregivers/consent", get(consent::caregiver_text))
        .route(
            "/v1/caregivers/{account_id}/assent",
            post(caregivers::assent),
        )
        .route(
            "/v1/accounts/{account_id}/guardians",
            post(enroll::create_guardian_invite),
        )
        .route(
            "/v1/accounts/{account_id}/birth-date",
            put(account::birth_date),
        )
        .route(
            "/v1/caregivers/invites",
            post(enroll::create_caregiver_invite),
        )
        .route("/v1/enroll/start", post(enroll::start))
        .route("/v1/enroll/code", post(enroll::send_code))
        .route("/v1/enroll/verify", post(enroll::verify))
        .route("/v1/keys/me", put(keys::publish).get(keys::mine))
        .route("/v1/keys/{account_id}", get(keys::fetch))
        .route("/v1/keys/{account_id}/history", get(keys::history))
        .route("/v1/account/history", get(account::history))
        .route(
            "/v1/account/recovery-code-used",
            post(account::recovery_code_used),
        )
        .route(
            "/v1/accounts/{account_id}/legal-hold",
            put(account::legal_hold),
        )
        .route("/v1/accounts/{account_id}/history", get(account::audit))
        .route(
            "/v1/accounts/{account_id}/consent",
            get(consent::of_account),
        )
        .route("/v1/consent", get(consent::text))
        .route(
            "/v1/account/consent",
            get(consent::status).post(consent::agree),
        )
        .route("/v1/account/consent/withdraw", post(consent::withdraw))
        .route("/v1/vault", get(vault::get).put(vault::put))
        .route("/v1/threads", get(threads::list).post(threads::create))
        .route("/v1/threads/{thread_id}", get(threads::get))
        .route("/v1/threads/{thread_id}/epochs", post(threads::put_epoch))
        .route("/v1/threads/{thread_id}/keys", get(threads::my_keys))
        .route("/v1/threads/{thread_id}/members", post(threads::add_member))
        .route("/v1/threads/{thread_id}/only-me", put(threads::set_only_me))
        .route("/v1/threads/{thread_id}/subject", put(threads::set_subject))
        .route(
            "/v1/threads/{thread_id}/members/{account_id}/remove",
            post(threads::remove_member),
        )
        .route(
            "/v1/threads/{thread_id}/archive",
            get(threads::archive_head),
        )
        .route("/v1/threads/{thread_id}/receipts", post(threads::receipt))
        .route("/v1/threads/{thread_id}/typing", post(threads::typing))
        .route("/v1/events", get(events::connect))
        .route("/v1/push/key", get(push::key))
        .route(
            "/v1/push/subscription",
            get(push::status)
                .put(push::subscribe)
                .delete(push::unsubscribe),
        )
        .route("/v1/push/test", post(push::test))
        .route("/v1/uploads", post(uploads::create))
        .route("/v1/uploads/{upload_id}", get(uploads::status))
        .route("/v1/uploads/{upload_id}/finalize", post(uploads::finalize))
        .route("/v1/blobs/{blob_id}", get(uploads::blob_info))
        .route("/v1/blobs/{blob_id}/parts/{index}", get(uploads::get_part))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(messages)
        .merge(parts)
        .route("/v1/{*rest}", axum::routing::any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        // Over-long ids in paths are refused before any handler looks them up.
        .layer(axum::middleware::from_fn(crate::bounds::limit_path))
        // API answers are per-person and often secret-adjacent: never cached.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route(HEALTH_PATH, get(health::get))
        .route("/metrics", get(metrics::get))
        .route("/embed.js", get(embed::script))
        .route("/embed/v1.js", get(embed::script))
        .merge(api)
}

/// The OpenAPI document, pretty-printed.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    openapi::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NoSuchRoute,
        "There is no such API endpoint.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "This endpoint does not accept that method.",
    )
}
