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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// The member's device has the message.
    Delivered,
    /// The message was on the member's screen.
    Read,
}

deserialize_by_name!(ReceiptKind, "receipt kind", [Delivered => "delivered", Read => "read"]);

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
#[serde(tag = "type", rename_all = "snake_case", try_from = "EventWire")]
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
    /// The patient stopped sharing a thread with this caregiver: it is gone
    /// from their inbox; forget what was shown of it.
    ThreadUnshared {
        /// The thread.
        thread_id: String,
    },
    /// The patient changed what a caregiver may do for them, or for how
    /// long: read the grants again (`GET /v1/caregivers`). Sent to the
    /// caregiver and to the patient's own sessions (their other devices);
    /// to the patient also when a caregiver accepts while signed in, or
    /// first publishes keys (the patient's device can share with them now).
    GrantChanged {
        /// Whose grant.
        patient_id: String,
    },
    /// An event this version does not know (a newer relay's): ignore it.
    #[serde(other)]
    Unknown,
}

/// An event as read off the wire: every variant's fields in one flat,
/// optional record, checked against its `type` by [`Event::try_from`].
/// Read this way rather than as serde's internally tagged enum, which
/// buffers each frame and costs the web client 20 KB of code; the JSON is
/// the same either way.
#[derive(Deserialize)]
struct EventWire {
    #[serde(rename = "type")]
    event: String,
    account_id: Option<String>,
    thread_id: Option<String>,
    message: Option<StoredMessage>,
    kind: Option<ReceiptKind>,
    up_to_seq: Option<u64>,
    at: Option<u64>,
    patient_id: Option<String>,
}

/// `value`, or the error serde would give for the missing field.
fn field<T>(value: Option<T>, name: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{name}`"))
}

impl TryFrom<EventWire> for Event {
    type Error = String;

    fn try_from(wire: EventWire) -> Result<Self, String> {
        Ok(match wire.event.as_str() {
            "ready" => Self::Ready {
                account_id: field(wire.account_id, "account_id")?,
            },
            "message" => Self::Message {
                thread_id: field(wire.thread_id, "thread_id")?,
                message: field(wire.message, "message")?,
            },
            "receipt" => Self::Receipt {
                thread_id: field(wire.thread_id, "thread_id")?,
                account_id: field(wire.account_id, "account_id")?,
                kind: field(wire.kind, "kind")?,
                up_to_seq: field(wire.up_to_seq, "up_to_seq")?,
                at: field(wire.at, "at")?,
            },
            "typing" => Self::Typing {
                thread_id: field(wire.thread_id, "thread_id")?,
                account_id: field(wire.account_id, "account_id")?,
            },
            "key_changed" => Self::KeyChanged {
                account_id: field(wire.account_id, "account_id")?,
            },
            "access_ended" => Self::AccessEnded {
                patient_id: field(wire.patient_id, "patient_id")?,
            },
            "thread_shared" => Self::ThreadShared {
                thread_id: field(wire.thread_id, "thread_id")?,
            },
            "thread_unshared" => Self::ThreadUnshared {
                thread_id: field(wire.thread_id, "thread_id")?,
            },
            "grant_changed" => Self::GrantChanged {
                patient_id: field(wire.patient_id, "patient_id")?,
            },
            _ => Self::Unknown,
        })
    }
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

    /// Every event reads back as itself, and a known type with a field
    /// missing is an error, not some other event.
    #[test]
    fn every_event_round_trips_and_a_missing_field_is_an_error() {
        let message = StoredMessage {
            seq: 3,
            message_id: "m-1".into(),
            sender_id: "acc_sam".into(),
            received_at: 1,
            envelope: crate::Bytes(vec![1, 2, 3]),
            attachments: vec!["blb_1".into()],
            chain: None,
        };
        let events = [
            Event::Ready {
                account_id: "acc_sam".into(),
            },
            Event::Message {
                thread_id: "thr_1".into(),
                message,
            },
            Event::Receipt {
                thread_id: "thr_1".into(),
                account_id: "acc_dana".into(),
                kind: ReceiptKind::Read,
                up_to_seq: 3,
                at: 9,
            },
            Event::Typing {
                thread_id: "thr_1".into(),
                account_id: "acc_dana".into(),
            },
            Event::KeyChanged {
                account_id: "acc_dana".into(),
            },
            Event::AccessEnded {
                patient_id: "acc_sam".into(),
            },
            Event::ThreadShared {
                thread_id: "thr_1".into(),
            },
            Event::ThreadUnshared {
                thread_id: "thr_1".into(),
            },
            Event::GrantChanged {
                patient_id: "acc_sam".into(),
            },
        ];
        for event in events {
            let wire = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<Event>(&wire).unwrap(),
                event,
                "{wire}"
            );
        }
        let broken = serde_json::from_str::<Event>(r#"{"type":"receipt","thread_id":"thr_1"}"#);
        assert!(
            broken
                .unwrap_err()
                .to_string()
                .contains("missing field `account_id`")
        );
    }
}

#[cfg(test)]
mod receipt_kind_names {
    #![allow(clippy::unwrap_used)]

    use super::ReceiptKind;

    /// Each receipt kind reads back from what it writes; another name is an error.
    #[test]
    fn every_receipt_kind_names_round_trips_by_name() {
        for value in [ReceiptKind::Delivered, ReceiptKind::Read] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<ReceiptKind>(&json).unwrap(), value);
        }
        assert!(serde_json::from_str::<ReceiptKind>("\"nobody\"").is_err());
    }
}
