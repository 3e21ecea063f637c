//! `GET /v1/events`: the WebSocket that pushes new messages, receipts and
//! typing to a signed-in client.

use std::sync::Arc;
use std::time::Duration;
use ward_proto::ErrorCode;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
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
/// A frame the client leaves unread this long ends the connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a page at the request's `Origin` may open the socket: exactly
/// Ward's configured public origin. Clients that are not browsers send no
/// Origin; they can only authenticate with a token in the first frame (no
/// cookie is accepted here), which a cross-site page does not have, so an
/// absent Origin is allowed. A browser always sends one on a WebSocket.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (None, _) => true,
        (Some(origin), None) => {
            origin.to_str().ok() == Some(state.config.public_origin_header().as_str())
        }
        (Some(_), Some(_)) => false,
    }
}

/// `GET /v1/events`
#[utoipa::path(get, path = "/v1/events", tag = "live", responses((status = 101, description = "Switching to WebSocket; the client's first frame must be `EventsAuth` (the session cookie is not accepted here)"), (status = 403, description = "`origin_not_allowed`: an `Origin` other than the relay's public origin", body = ward_proto::ErrorBody)))]
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state, &headers) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            "Live updates are only available to Ward's own pages.",
        )
        .into_response();
    }
    upgrade
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(state, socket))
}

async fn serve(state: AppState, mut socket: WebSocket) {
    // The token comes in the first frame, always: a cookie is never
    // accepted on the socket, so a page elsewhere on the site cannot open
    // one as the signed-in patient.
    let Some(token) = first_frame_token(&mut socket).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let Ok(session) = sessions::authenticate(&state, &token).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let (sink, mut incoming) = socket.split();
    // Everything for this client goes through a bounded queue to one
    // writer; a client that does not read fills it and is disconnected.
    let (queue, waiting) = mpsc::channel(state.config.websocket_send_queue);
    let mut writer = tokio::spawn(write(sink, waiting));
    let ready = Event::Ready {
        account_id: session.account_id.clone(),
    };
    // Ready is queued before the connection registers, so it comes first.
    let queued = serde_json::to_string(&ready)
        .ok()
        .is_some_and(|json| queue.try_send(Arc::from(json)).is_ok());
    if !queued {
        writer.abort();
        return;
    }
    // From here the hub holds the only sender: when this registration
    // drops (however this task ends), the writer sends what is queued and
    // then a Close frame.
    let registration = state.events.local().register(&session.account_id, queue);
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            () = registration.dropped() => {
                // Too far behind: cut it off now; it catches up by cursor
                // when it reconnects.
                tracing::debug!("closing a WebSocket that does not keep up");
                writer.abort();
                return;
            }
            frame = incoming.next() => match frame {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                if !sessions::is_live(&state, &token).await.unwrap_or(false) {
                    break;
                }
            }
            _ = &mut writer => return,
        }
    }
    drop(registration);
    if tokio::time::timeout(SEND_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// Sends queued frames until the queue closes (then a Close frame), a send
/// fails, or one takes longer than [`SEND_TIMEOUT`].
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut waiting: mpsc::Receiver<Arc<str>>,
) {
    while let Some(json) = waiting.recv().await {
        let text = String::from(&*json);
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(None))).await;
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
