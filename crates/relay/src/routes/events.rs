//! `GET /v1/events`: the WebSocket that pushes new messages, receipts and
//! typing to a signed-in client.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use ward_proto::events::{Event, EventsAuth};

use crate::error::ApiError;
use crate::{AppState, sessions};

/// Small buffers: an idle connection should cost a few KB, not hundreds.
const BUFFER: usize = 4 * 1024;
/// Clients only ever send the auth frame, pings and closes.
const MAX_INCOMING: usize = 4 * 1024;
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a connection re-checks that its session is still live (so a
/// remote sign-out or timeout closes it).
const RECHECK: Duration = Duration::from_secs(60);

/// Whether a browser page at `origin` may open the socket: Ward's own
/// origin (any port on localhost, for development). Non-browser clients
/// send no Origin.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let (Ok(given), Ok(ours)) = (
        url::Url::parse(origin),
        url::Url::parse(&state.config.public_origin),
    ) else {
        return false;
    };
    let same_host = given.scheme() == ours.scheme() && given.host_str() == ours.host_str();
    same_host
        && (given.port_or_known_default() == ours.port_or_known_default()
            || ours.host_str() == Some("localhost"))
}

/// `GET /v1/events`
#[utoipa::path(get, path = "/v1/events", tag = "live", responses((status = 101, description = "Switching to WebSocket"), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)))]
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state, &headers) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "Live updates are only available to Ward's own pages.",
        )
        .into_response();
    }
    let cookie_token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == crate::extract::SESSION_COOKIE)
        .map(|(_, value)| value.to_owned());
    upgrade
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(state, socket, cookie_token))
}

async fn serve(state: AppState, mut socket: WebSocket, cookie_token: Option<String>) {
    let token = match cookie_token {
        Some(token) => token,
        None => match first_frame_token(&mut socket).await {
            Some(token) => token,
            None => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        },
    };
    let Ok(session) = sessions::authenticate(&state, &token).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let mut events = state.events.subscribe();
    let ready = Event::Ready {
        account_id: session.account_id.clone(),
    };
    if send_json(&mut socket, &ready).await.is_err() {
        return;
    }
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(routed) if routed.recipients.contains(&session.account_id) => {
                    if socket.send(Message::Text(routed.json.clone().into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Fell behind: close; the client catches up by cursor.
                Err(RecvError::Lagged(_) | RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                if !sessions::is_live(&state, &token).await.unwrap_or(false) {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}

async fn first_frame_token(socket: &mut WebSocket) -> Option<String> {
    let frame = tokio::time::timeout(AUTH_TIMEOUT, socket.recv())
        .await
        .ok()??
        .ok()?;
    let Message::Text(text) = frame else {
        return None;
    };
    serde_json::from_str::<EventsAuth>(&text)
        .ok()
        .map(|auth| auth.token)
}

async fn send_json(socket: &mut WebSocket, event: &Event) -> Result<(), ()> {
    let json = serde_json::to_string(event).map_err(|_| ())?;
    socket
        .send(Message::Text(json.into()))
        .await
        .map_err(|_| ())
}
