//! `GET /v1/events`: the WebSocket that pushes new messages, receipts and
//! typing to a signed-in client.

use std::time::Duration;
use ward_proto::ErrorCode;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use ward_proto::events::{Event, EventsAuth};

use crate::error::ApiError;
use crate::{AppState, secrets, sessions};

/// Small buffers: an idle connection should cost a few KB, not hundreds.
/// Clients send only tiny frames (the auth frame, pings, a close), so reads
/// need little room; a bigger frame grows the buffer for itself.
const READ_BUFFER: usize = 512;
/// Frames are written whole on each send; this only caps batching.
const WRITE_BUFFER: usize = 4 * 1024;
/// Clients only ever send the auth frame, pings and closes.
const MAX_INCOMING: usize = 4 * 1024;
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// A frame the client leaves unread this long ends the connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the relay pings an open socket. A phone that lost its network
/// leaves a half-open connection the kernel keeps accepting writes for; the
/// relay would count it live (no Web Push) until TCP gives up, minutes later.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A socket that sent nothing (a browser answers every ping) for this long
/// is closed.
const SILENT_LIMIT: Duration = Duration::from_secs(75);

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
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(state, socket))
}

/// One task per connection, doing both directions: an idle connection is
/// one small task, one socket and one queue (docs/benchmarks.md, "Relay
/// capacity", counts the bytes). The rarely taken branches (session checks)
/// are boxed, so their futures do not sit in every idle task's allocation.
async fn serve(state: AppState, mut socket: WebSocket) {
    // The token comes in the first frame, always: a cookie is never
    // accepted on the socket, so a page elsewhere on the site cannot open
    // one as the signed-in patient.
    let Some(token) = first_frame_token(&mut socket).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    // Registered before the session is read: a sign-out committed after
    // that read finds this connection here and ends it; one committed
    // before it makes the read fail. A start cannot slip between the two.
    let watched = state.session_watch.register(secrets::hash(&token));
    let Ok(session) = Box::pin(sessions::authenticate(&state, &token)).await else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    drop(token);
    // Live from now: the account gets no pushes while this stays open
    // (crate::push::presence); dropped whenever this task ends.
    let mut watched =
        crate::push::presence::Live::start(&state, watched, session.token_hash.clone()).await;
    // Everything for this client goes through a bounded queue; a client
    // that does not read fills it and is disconnected. The index holds the
    // only sender. The connection registers before Ready goes out: a client
    // that catches up by cursor once it reads Ready can then miss nothing,
    // since whatever is stored after registration is also queued here, and
    // Ready still comes first because this task sends it before draining.
    let (queue, mut waiting) = mpsc::channel(state.config.websocket_send_queue);
    let registration = state.events.local().register(&session.account_id, queue);
    let ready = Event::Ready {
        account_id: session.account_id.clone(),
    };
    let Ok(ready) = serde_json::to_string(&ready) else {
        return;
    };
    if !sent(&mut socket, Message::Text(ready.into())).await {
        return;
    }
    drop(session);
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if heard.elapsed() > SILENT_LIMIT {
                    // Nothing would reach it: no flush, no Close frame.
                    tracing::debug!("dropping a WebSocket that stopped answering pings");
                    return;
                }
                if !sent(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
            () = registration.dropped() => {
                // Too far behind: cut it off now; it catches up by cursor
                // when it reconnects.
                tracing::debug!("closing a WebSocket that does not keep up");
                return;
            }
            queued = waiting.recv() => {
                let Some(json) = queued else { break };
                let text = Message::Text(String::from(&*json).into());
                tokio::select! {
                    ok = sent(&mut socket, text) => if !ok { return },
                    () = registration.dropped() => return,
                }
            }
            frame = socket.recv() => match frame {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => heard = tokio::time::Instant::now(),
            },
            // A sign-out or a timeout (`session_watch`).
            () = watched.ended() => break,
        }
    }
    drop(registration);
    // What was queued before the end still goes out, then a Close frame.
    while let Ok(json) = waiting.try_recv() {
        if !sent(&mut socket, Message::Text(String::from(&*json).into())).await {
            return;
        }
    }
    let _ = sent(&mut socket, Message::Close(None)).await;
}

/// Sends one frame; false if it failed or the client left it unread for
/// [`SEND_TIMEOUT`].
async fn sent(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
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
