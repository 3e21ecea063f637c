//! Bounds on what a caller chooses: ids, codes, contacts and the parts of a
//! request's path, checked before anything touches the database. An
//! attacker who may not even be signed in must not be able to store large
//! keys (a lockout row named after a megabyte-long enrollment id) or make
//! the relay hash and compare them.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ward_proto::ErrorCode;

use crate::error::ApiError;

/// The longest id the relay accepts. Every id it hands out is a short
/// prefix and 22 base64url characters (`thr_…`, `acc_…`, `clinic_…`).
pub const MAX_ID_LEN: usize = 64;

/// The longest one-time code, TOTP code, invite code or setup code accepted
/// (as typed, with spaces and dashes).
pub const MAX_CODE_LEN: usize = 64;

/// The longest contact (an e-mail address's limit).
pub const MAX_CONTACT_LEN: usize = 254;

/// The longest query string on an API request (a page cursor and a limit).
pub const MAX_QUERY_LEN: usize = 512;

/// 400 `input_too_long`, naming what was too long.
fn too_long(what: &str, max: usize) -> ApiError {
    ApiError::bad_request(
        ErrorCode::InputTooLong,
        format!(
            "The {what} is too long: it can be at most {max} characters. Check it, or start again."
        ),
    )
}

/// Refuses an id longer than [`MAX_ID_LEN`] bytes (`what` names it, e.g.
/// "enrollment id").
pub fn id(what: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_ID_LEN {
        return Err(too_long(what, MAX_ID_LEN));
    }
    Ok(())
}

/// Refuses a typed code longer than [`MAX_CODE_LEN`] bytes.
pub fn code(what: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_CODE_LEN {
        return Err(too_long(what, MAX_CODE_LEN));
    }
    Ok(())
}

/// Refuses a contact longer than [`MAX_CONTACT_LEN`] bytes.
pub fn contact(value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_CONTACT_LEN {
        return Err(too_long(
            "contact (e-mail address or phone number)",
            MAX_CONTACT_LEN,
        ));
    }
    Ok(())
}

/// Middleware for every `/v1/` route: each segment of the path (ids in
/// paths: threads, accounts, sessions, passkeys, uploads, blobs) is at most
/// [`MAX_ID_LEN`] bytes as sent, and the query string at most
/// [`MAX_QUERY_LEN`]; otherwise 400 `input_too_long` before any handler runs.
pub async fn limit_path(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if uri
        .path()
        .split('/')
        .any(|segment| segment.len() > MAX_ID_LEN)
    {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InputTooLong,
            format!(
                "A part of this address is longer than {MAX_ID_LEN} characters, and no id is that long. Check the link."
            ),
        )
        .into_response();
    }
    if uri.query().is_some_and(|query| query.len() > MAX_QUERY_LEN) {
        return too_long("query (the part after ?)", MAX_QUERY_LEN).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_codes_and_contacts_are_bounded_by_bytes() {
        assert!(id("thread id", &"a".repeat(MAX_ID_LEN)).is_ok());
        assert!(id("thread id", &"a".repeat(MAX_ID_LEN + 1)).is_err());
        // Multi-byte characters count as their bytes.
        assert!(id("thread id", &"é".repeat(MAX_ID_LEN / 2 + 1)).is_err());
        assert!(code("code", &"1".repeat(MAX_CODE_LEN)).is_ok());
        assert!(code("code", &"1".repeat(MAX_CODE_LEN + 1)).is_err());
        assert!(contact(&"a".repeat(MAX_CONTACT_LEN)).is_ok());
        let error = contact(&"a".repeat(MAX_CONTACT_LEN + 1)).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
