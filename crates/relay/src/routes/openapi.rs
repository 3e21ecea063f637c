//! `GET /v1/openapi.json`: the API described from the code itself (every
//! handler carries its `#[utoipa::path]`; request and response schemas come
//! from `ward-proto`).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    account, auth, caregivers, consent, embed, enroll, events, health, keys, passkeys, push,
    sessions, threads, totp, uploads, vault,
};

/// The OpenAPI 3.1 document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ward relay API",
        description = "Authenticates, authorizes, stores and routes end-to-end encrypted messages. Binary values are unpadded base64url. Errors share one shape: {\"error\": {\"code\", \"message\", \"retry_after_seconds\"?}}, where code is one of the ErrorCode values (stable; a client should treat a code it does not know as a generic failure and show the message)."
    ),
    paths(
        health::get,
        auth::clinic_setup, auth::clinic_info, embed::info, auth::key_challenge, auth::key_login, auth::logout,
        enroll::create_invite, enroll::create_caregiver_invite, caregivers::list, caregivers::change_grant, caregivers::end, caregivers::assent, caregivers::accept, enroll::create_guardian_invite, enroll::start, enroll::send_code, enroll::verify,
        passkeys::register_start, passkeys::register_finish, passkeys::list, passkeys::rename, passkeys::remove,
        passkeys::sign_in_start, passkeys::sign_in_finish,
        totp::status, totp::enroll, totp::confirm, totp::disable, totp::code_start, totp::code_verify,
        sessions::list, sessions::revoke,
        keys::publish, keys::mine, keys::fetch, keys::history,
        account::history, account::recovery_code_used, account::audit, account::legal_hold, account::birth_date,
        consent::text, consent::caregiver_text, consent::status, consent::agree, consent::withdraw, consent::of_account,
        vault::get, vault::put,
        threads::list, threads::create, threads::get, threads::put_epoch, threads::my_keys, threads::add_member, threads::set_only_me, threads::set_subject, threads::remove_member,
        threads::post_message, threads::list_messages, threads::archive_head, threads::receipt, threads::typing,
        events::connect,
        push::key, push::status, push::subscribe, push::unsubscribe, push::test,
        uploads::create, uploads::put_part, uploads::status, uploads::finalize,
        uploads::blob_info, uploads::get_part,
    ),
    modifiers(&SessionAuth)
)]
pub struct ApiDoc;

/// The session: a bearer token, or the `ward_session` cookie.
struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /v1/openapi.json`
pub async fn get() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
