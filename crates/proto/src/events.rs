//! Live events over the WebSocket at `/v1/events`.
//!
//! A browser authenticates with its session cookie, or (embedded, token in
//! memory) by sending [`EventsAuth`] as its first frame: tokens never go in
//! a URL. After [`Event::Ready`], events for the account's threads follow.
//! A client that reconnects catches up with `GET .../messages?after=`.

use serde::{Deserialize, Serialize};

use crate::threads::StoredMessage;

/// The first frame from a client without a session cookie.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventsAuth {
    /// The session token.
    pub token: String,
}

impl std::fmt::Debug for EventsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventsAuth(..)")
    }
}

/// Which receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// The member's device has the message.
    Delivered,
    /// The message was on the member's screen.
    Read,
}

/// `POST /v1/threads/{id}/receipts`: everything up to `up_to_seq` was
/// delivered to, or read by, the caller. Receipts only move forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequest {
    /// Which receipt.
    pub kind: ReceiptKind,
    /// The highest message sequence number covered.
    pub up_to_seq: u64,
}

/// Something happened in one of the account's threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Authenticated; events follow.
    Ready {
        /// The signed-in account.
        account_id: String,
    },
    /// A new message.
    Message {
        /// The thread.
        thread_id: String,
        /// The stored envelope.
        message: StoredMessage,
    },
    /// A member's receipt moved forward.
    Receipt {
        /// The thread.
        thread_id: String,
        /// Whose receipt.
        account_id: String,
        /// Which.
        kind: ReceiptKind,
        /// Up to which message.
        up_to_seq: u64,
        /// When (Unix milliseconds).
        at: u64,
    },
    /// A member is typing (never stored).
    Typing {
        /// The thread.
        thread_id: String,
        /// Who.
        account_id: String,
    },
    /// An account sharing a thread with the receiver published a new
    /// bundle: fetch its key history again.
    KeyChanged {
        /// Whose keys changed.
        account_id: String,
    },
}
