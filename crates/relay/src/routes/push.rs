//! Web Push: the relay's VAPID key, this device's subscription, and the
//! test notification (docs/push.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ward_proto::ErrorCode;
use ward_proto::push::{PushKey, PushStatus, PushSubscription};

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::now_ms;
use crate::{AppState, push, store};

/// `GET /v1/push/key`: the `applicationServerKey` to subscribe with.
#[utoipa::path(get, path = "/v1/push/key", tag = "push", responses((status = 200, description = "OK", body = ward_proto::push::PushKey)))]
pub async fn key(State(state): State<AppState>) -> Json<PushKey> {
    Json(PushKey {
        public_key: state.push.key().public_key().to_owned(),
    })
}

/// `GET /v1/push/subscription`: whether this session's device is subscribed.
#[utoipa::path(get, path = "/v1/push/subscription", tag = "push", responses((status = 200, description = "OK", body = ward_proto::push::PushStatus)), security(("session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<PushStatus>, ApiError> {
    let subscribed = store::push::exists(&state.db, &session.session_id).await?;
    Ok(Json(PushStatus { subscribed }))
}

/// `PUT /v1/push/subscription`: stores this session's subscription
/// (replacing the one it had).
#[utoipa::path(put, path = "/v1/push/subscription", tag = "push", request_body = ward_proto::push::PushSubscription, responses((status = 204, description = "Stored"), (status = 400, description = "`invalid_push_subscription`: the endpoint is not an absolute URL of at most 2048 bytes on one of the relay's push services, or the keys are not a P-256 point and a 16-byte secret", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn subscribe(
    State(state): State<AppState>,
    session: Session,
    JsonBody(subscription): JsonBody<PushSubscription>,
) -> Result<StatusCode, ApiError> {
    let checked = push::check_subscription(&subscription, &state.config.push_services)?;
    store::push::put(
        &state.db,
        store::push::NewSubscription {
            session_id: &session.session_id,
            account_id: &session.account_id,
            endpoint: &checked.endpoint,
            p256dh: &checked.p256dh,
            auth: &checked.auth,
            now: now_ms(),
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/push/subscription`: forgets this session's subscription
/// (none is fine).
#[utoipa::path(delete, path = "/v1/push/subscription", tag = "push", responses((status = 204, description = "Done")), security(("session" = [])))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    session: Session,
) -> Result<StatusCode, ApiError> {
    store::push::delete(&state.db, &session.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/push/test`: queues a test notification to this session's
/// subscription, at most one per 10 seconds.
#[utoipa::path(post, path = "/v1/push/test", tag = "push", responses((status = 202, description = "Queued"), (status = 409, description = "`no_push_subscription`: this device has no subscription", body = ward_proto::ErrorBody), (status = 429, description = "`too_many_test_pushes`: one was sent less than 10 s ago", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn test(State(state): State<AppState>, session: Session) -> Result<StatusCode, ApiError> {
    let now = now_ms();
    let tested = store::push::mark_tested(
        &state.db,
        &session.session_id,
        now,
        now.saturating_sub(push::TEST_EVERY_MS),
    )
    .await?;
    match tested {
        store::push::Tested::Send(target) => {
            state.push.test(&state, target);
            Ok(StatusCode::ACCEPTED)
        }
        store::push::Tested::None => Err(ApiError::conflict(
            ErrorCode::NoPushSubscription,
            "Notifications are not on for this device. Turn them on first, then send a test.",
        )),
        store::push::Tested::TooSoon(at) => {
            let wait_ms = at.saturating_add(push::TEST_EVERY_MS).saturating_sub(now);
            let seconds = u64::try_from(wait_ms.div_euclid(1000) + 1).unwrap_or(1);
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyTestPushes,
                "A test notification was just sent. Wait a few seconds before sending another.",
            )
            .retry_after(seconds.clamp(1, 10)))
        }
    }
}
