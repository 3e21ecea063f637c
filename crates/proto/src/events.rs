//! Live events over the WebSocket at `/v1/events`.
//!
//! Every client authenticates by sending [`EventsAuth`] as its first frame
//! (the session cookie is not accepted on the socket, and tokens never go
//! in a URL); a browser's `Origin` must be exactly the relay's public
//! origin. After [`Event::Ready`], events for the account's threads follow.
//! A client that reconnects catches up with `GET .../messages?after=`.

use serde::{Deserialize, Serialize};

use crate::threads::StoredMessage;

/// The first frame from every client: the session token.
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
    /// An account sharing a thread with this one published a new key
    /// bundle: fetch its history, verify it, and tell the person.
    KeyChanged {
        /// Whose keys changed.
        account_id: String,
    },
    /// This caregiver's access to a patient's threads ended (the patient
    /// removed them, they stopped helping, or the grant ran out): those
    /// threads are gone from their inbox; forget what was shown of them.
    AccessEnded {
        /// Whose threads.
        patient_id: String,
    },
    /// The patient shared a thread with this caregiver: it is in their
    /// inbox now.
    ThreadShared {
        /// The thread.
        thread_id: String,
    },
    /// The patient changed what this caregiver may do for them, or for how
    /// long: read the grant again (`GET /v1/caregivers`).
    GrantChanged {
        /// Whose grant.
        patient_id: String,
    },
    /// An event this version does not know (a newer relay's): ignore it.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A client reads an event kind a newer relay added as `Unknown` (and
    /// ignores it) rather than failing on the stream; known ones keep
    /// their names on the wire.
    #[test]
    fn an_unknown_event_type_reads_as_unknown() {
        let later: Event =
            serde_json::from_str(r#"{"type":"clinic_closed_today","until":1}"#).unwrap();
        assert_eq!(later, Event::Unknown);
        let ended = Event::AccessEnded {
            patient_id: "acc_sam".into(),
        };
        let wire = serde_json::to_string(&ended).unwrap();
        assert_eq!(wire, r#"{"type":"access_ended","patient_id":"acc_sam"}"#);
        assert_eq!(serde_json::from_str::<Event>(&wire).unwrap(), ended);
    }
}
