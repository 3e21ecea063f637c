//! Threads, their epochs' sealed keys, and messages.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// What a thread is about (in the clear to the relay, for routing and
/// inbox sorting; the payload repeats it inside the encryption).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Booking, moving or cancelling a visit.
    Appointment,
    /// A prescription refill.
    Refill,
    /// A question for the care team.
    Question,
    /// Bills and insurance.
    Billing,
    /// Anything else.
    Other,
}

/// `POST /v1/threads`: a patient starts a thread with the clinic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateThreadRequest {
    /// What it is about.
    pub category: Category,
}

/// A member's role in a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The patient the thread is about.
    Patient,
    /// The clinic's inbox.
    Clinic,
    /// Someone the patient granted access.
    Caregiver,
}

/// A thread member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The account.
    pub account_id: String,
    /// Its role.
    pub role: Role,
    /// Its display name.
    pub display_name: String,
    /// Messages up to this sequence number reached the member's device.
    pub delivered_up_to: u64,
    /// Messages up to this sequence number were on the member's screen.
    pub read_up_to: u64,
    /// When `read_up_to` last moved (Unix milliseconds).
    pub read_at: Option<u64>,
}

/// A thread as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    /// The thread.
    pub thread_id: String,
    /// What it is about.
    pub category: Category,
    /// Who is in it.
    pub members: Vec<Member>,
    /// The newest epoch with keys, if any yet.
    pub current_epoch: Option<u32>,
    /// Messages the caller has not read.
    pub unread_count: u64,
    /// When the last message arrived (Unix milliseconds), if any.
    pub last_message_at: Option<u64>,
    /// When the thread was created (Unix milliseconds).
    pub created_at: u64,
}

/// `GET /v1/threads?limit=N&cursor=C`: one page of the caller's threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadList {
    /// Newest activity first.
    pub threads: Vec<Thread>,
    /// The next page is `?cursor=<this>`; `None` on the last page. Opaque.
    /// Pages continue the order of the first one: a thread that gets a
    /// message after it was served is not served again, and one that had
    /// not been served yet still comes, where it was when paging began.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// The most threads one page of `GET /v1/threads` holds.
pub const MAX_THREADS_PER_PAGE: u32 = 200;

/// How many threads a page holds when `limit` is not given.
pub const DEFAULT_THREADS_PER_PAGE: u32 = 100;

/// `POST /v1/threads/{id}/epochs`: the next epoch's key, sealed to every
/// member who may read it. Accepted only if `epoch` is exactly the next
/// number (0 for a new thread); two members rotating at once cannot both win.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutEpochRequest {
    /// The new epoch's number.
    pub epoch: u32,
    /// `ward_seal::thread_key::SealedThreadKey::to_bytes`, one per member.
    pub sealed_keys: Vec<Bytes>,
}

/// `POST /v1/threads/{id}/members` (the thread's patient): grants a linked
/// caregiver the thread, with every existing epoch's key sealed to them
/// (one seal per epoch: the whole history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// The caregiver's account.
    pub account_id: String,
    /// One sealed key per existing epoch, for the caregiver.
    pub sealed_keys: Vec<Bytes>,
}

/// `POST /v1/threads/{id}/members/{account}/remove` (the thread's patient):
/// revokes a member and, in the same step, starts the next epoch sealed only
/// to those who remain, so the removed member cannot read what follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RemoveMemberRequest {
    /// The next epoch, sealed to the remaining members.
    pub next_epoch: PutEpochRequest,
}

/// One sealed key meant for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedKeyEntry {
    /// Its epoch.
    pub epoch: u32,
    /// Who sealed it (verify against their pinned bundle).
    pub sealer_id: String,
    /// The sealed key.
    pub sealed: Bytes,
}

/// `GET /v1/threads/{id}/keys`: the caller's sealed keys, oldest epoch first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedKeys {
    /// One per epoch the caller may read.
    pub keys: Vec<SealedKeyEntry>,
}

/// `POST /v1/threads/{id}/messages`: an envelope. Idempotent on the
/// envelope's (sender, message id): a retry returns the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// `ward_seal::envelope::Envelope::to_bytes`.
    pub envelope: Bytes,
    /// The blobs the message's attachments are stored in (their file keys
    /// travel inside the envelope): each a finalized upload of the sender's,
    /// at most [`crate::blobs::MAX_ATTACHMENTS_PER_MESSAGE`], none twice.
    /// Posting the message lets every member of the thread download them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredMessage {
    /// Position in the thread; cursors page by it.
    pub seq: u64,
    /// The client's message id.
    pub message_id: String,
    /// The sender.
    pub sender_id: String,
    /// When the relay stored it (Unix milliseconds).
    pub received_at: u64,
    /// The envelope.
    pub envelope: Bytes,
    /// The blobs the sender attached (`GET /v1/blobs/{blob_id}`), in the
    /// order it listed them; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// `GET /v1/threads/{id}/messages`: one page of a thread's messages.
///
/// Two ways to page, one per request:
/// - forward from the oldest, `?after=SEQ&limit=N`: the N oldest messages
///   with `seq > SEQ`; the next page is `?after=<next_cursor>`;
/// - backward from the newest, `?before=latest&limit=N` for the newest N
///   messages, then `?before=<earlier_cursor>&limit=N` for the N before
///   those, until `earlier_cursor` is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// Oldest first (ascending `seq`), in both paging directions.
    pub messages: Vec<StoredMessage>,
    /// Paging forward (`after`): pass as `after` for the next page; absent
    /// at the end. Always absent when paging backward (`before`).
    pub next_cursor: Option<u64>,
    /// Paging backward (`before`): pass as `before` for the page just before
    /// this one (it is the smallest `seq` in this page); absent when this
    /// page reaches the thread's first message. Always absent when paging
    /// forward (`after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_cursor: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_page_omits_an_absent_earlier_cursor_and_reads_older_relays() {
        let forward = MessagePage {
            messages: Vec::new(),
            next_cursor: Some(7),
            earlier_cursor: None,
        };
        let json = serde_json::to_string(&forward).unwrap();
        assert_eq!(json, r#"{"messages":[],"next_cursor":7}"#);
        assert_eq!(serde_json::from_str::<MessagePage>(&json).unwrap(), forward);

        let backward = MessagePage {
            messages: Vec::new(),
            next_cursor: None,
            earlier_cursor: Some(151),
        };
        let json = serde_json::to_string(&backward).unwrap();
        assert_eq!(
            json,
            r#"{"messages":[],"next_cursor":null,"earlier_cursor":151}"#
        );
        assert_eq!(
            serde_json::from_str::<MessagePage>(&json).unwrap(),
            backward
        );

        // A relay from before `before` paging sends no `earlier_cursor`.
        let older: MessagePage =
            serde_json::from_str(r#"{"messages":[],"next_cursor":null}"#).unwrap();
        assert_eq!(older.earlier_cursor, None);
    }
}
