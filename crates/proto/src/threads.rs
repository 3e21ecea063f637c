//! Threads, their epochs' sealed keys, and messages.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// What a thread is about: `ward_seal::category::Category`, the one
/// definition. The payload carries it inside the encryption as a byte
/// (seal owns that mapping); the relay API carries it in the clear, for
/// routing and inbox sorting, as the name [`category::name`] gives.
pub use ward_seal::category::Category;

/// The relay API's (and the relay database's) names for a [`Category`]:
/// `"appointment"`, `"refill"`, `"question"`, `"billing"`,
/// `"confidential"`, `"other"`.
///
/// Also the serde adapter for `Category` fields (`#[serde(with =
/// "category")]`): the type is seal's, and seal stays free of serde.
pub mod category {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Category;

    /// The name on the wire and in the database.
    pub const fn name(category: Category) -> &'static str {
        match category {
            Category::Appointment => "appointment",
            Category::Refill => "refill",
            Category::Question => "question",
            Category::Billing => "billing",
            Category::Other => "other",
            Category::Confidential => "confidential",
        }
    }

    /// The category `name` names, if it is one.
    pub fn from_name(name: &str) -> Result<Category, UnknownCategory> {
        Category::ALL
            .into_iter()
            .find(|category| self::name(*category) == name)
            .ok_or_else(|| UnknownCategory(name.to_owned()))
    }

    /// A name that is no [`Category`]'s.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error(
        "{0:?} is not a thread category (appointment, refill, question, billing, confidential or other)"
    )]
    pub struct UnknownCategory(pub String);

    /// Serializes as [`name`].
    pub fn serialize<S: Serializer>(category: &Category, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(name(*category))
    }

    /// Deserializes with [`from_name`]; an unknown name is an error (a
    /// request with a category the relay does not know is refused, not
    /// filed as "other").
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Category, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        from_name(&name).map_err(serde::de::Error::custom)
    }

    /// The OpenAPI schema of a `Category` field: a string, one of the names.
    #[cfg(feature = "openapi")]
    #[derive(Debug)]
    pub struct Schema;

    #[cfg(feature = "openapi")]
    impl utoipa::PartialSchema for Schema {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .description(Some(
                    "What a thread is about (in the clear to the relay, for routing and\ninbox sorting; the payload repeats it inside the encryption).",
                ))
                .enum_values(Some(Category::ALL.map(name)))
                .into()
        }
    }

    #[cfg(feature = "openapi")]
    impl utoipa::ToSchema for Schema {
        fn name() -> std::borrow::Cow<'static, str> {
            "Category".into()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_category_round_trips_through_its_name() {
            let names: Vec<&str> = Category::ALL.map(name).to_vec();
            assert_eq!(
                names,
                [
                    "appointment",
                    "refill",
                    "question",
                    "billing",
                    "confidential",
                    "other"
                ]
            );
            for category in Category::ALL {
                assert_eq!(from_name(name(category)), Ok(category));
            }
            assert_eq!(from_name("Refill"), Err(UnknownCategory("Refill".into())));
            assert!(from_name("").is_err());
        }
    }
}

/// `POST /v1/threads`: a patient starts a thread with the clinic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateThreadRequest {
    /// What it is about.
    #[serde(with = "category")]
    #[cfg_attr(feature = "openapi", schema(value_type = category::Schema))]
    pub category: Category,
}

/// A member's role in a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

deserialize_by_name!(Role, "role", [Patient => "patient", Clinic => "clinic", Caregiver => "caregiver"]);

impl Role {
    /// Every role.
    pub const ALL: [Self; 3] = [Self::Patient, Self::Clinic, Self::Caregiver];

    /// The name on the wire and in the relay's database (a thread
    /// member's `role`, an account's and an invite's `kind`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Clinic => "clinic",
            Self::Caregiver => "caregiver",
        }
    }
}

/// A name that is no [`Role`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role (patient, clinic or caregiver)")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    /// The role `name` names; anything else is an error, never a default
    /// (an unknown role must not be treated as a patient).
    fn from_str(name: &str) -> Result<Self, UnknownRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.name() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
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
    #[serde(with = "category")]
    #[cfg_attr(feature = "openapi", schema(value_type = category::Schema))]
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
    /// The patient keeps this thread to themselves: it is never shared
    /// with a caregiver.
    #[serde(default)]
    pub only_me: bool,
    /// A member left (or their grant ended) after the current epoch was
    /// sealed to them: the next message should go under a new epoch
    /// sealed to the members there are now.
    #[serde(default)]
    pub needs_rekey: bool,
    /// The thread's subject, sealed: an envelope the patient made under the
    /// thread's key when starting it (its payload's subject, tag 8) and
    /// stored with `PUT /v1/threads/{id}/subject`. The relay cannot read
    /// it. Absent when none was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Bytes>,
    /// The newest message, for the list's preview (opened on the device),
    /// when its envelope is at most [`LATEST_MAX_BYTES`]; absent otherwise
    /// (a photo's thumbnail is not sent with every list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<StoredMessage>,
}

/// The largest newest-message envelope a thread list carries
/// ([`Thread::latest`]).
pub const LATEST_MAX_BYTES: usize = 4096;

/// The largest sealed subject the relay stores
/// (`PUT /v1/threads/{id}/subject`).
pub const SUBJECT_MAX_BYTES: usize = 2048;

/// `PUT /v1/threads/{id}/subject`: the thread's patient stores its sealed
/// subject, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    /// The envelope ([`Thread::subject`]).
    pub subject: Bytes,
}

/// `PUT /v1/threads/{id}/only-me`: whether the patient keeps the thread to
/// themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OnlyMeRequest {
    /// `true`: never shared with a caregiver.
    pub only_me: bool,
}

/// The name `account_id`'s messages go under in a thread with `members`:
/// their display name, and a caregiver's with the patient they answer for
/// ("Dana for Sam"), so that nobody, the care team least of all, mistakes
/// who wrote. `None` for an account not (or no longer) in the thread.
/// The web client and the clinic agent both name senders this way.
pub fn speaker(members: &[Member], account_id: &str) -> Option<String> {
    let member = members.iter().find(|m| m.account_id == account_id)?;
    Some(match member.role {
        Role::Caregiver => match members.iter().find(|m| m.role == Role::Patient) {
            Some(patient) => format!("{} for {}", member.display_name, patient.display_name),
            None => format!("{} · caregiver", member.display_name),
        },
        Role::Patient | Role::Clinic => member.display_name.clone(),
    })
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
    /// Also marks the thread "Only me", in the same step: how a patient
    /// keeps a thread from a caregiver who sees all their threads (whose
    /// removal alone is refused, as their app would share it again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_me: bool,
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
    /// The thread's archive chain hash at this message (32 bytes; the
    /// construction is in docs/crypto.md, "Archive chain", and
    /// `ward_seal::archive`). Absent from relays older than the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Bytes>,
}

/// `GET /v1/threads/{id}/archive`: where the thread's archive chain stands,
/// for proving a downloaded archive complete (`ward-clinic verify-archive`).
///
/// The stored messages are `pruned_through_seq + 1 ..= last_seq`, with no
/// gap; the first chains to `pruned_chain`, the last is `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchiveHead {
    /// The thread.
    pub thread_id: String,
    /// The newest message's sequence number (0: none yet).
    pub last_seq: u64,
    /// The chain hash of message `last_seq` (32 bytes; 32 zero bytes when
    /// there is no message).
    pub head: Bytes,
    /// Messages up to and including this one were deleted by the relay's
    /// retention (0: none were).
    pub pruned_through_seq: u64,
    /// The chain hash of message `pruned_through_seq`, kept when it was
    /// deleted (32 zero bytes when `pruned_through_seq` is 0).
    pub pruned_chain: Bytes,
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

    fn member(account_id: &str, role: Role, display_name: &str) -> Member {
        Member {
            account_id: account_id.into(),
            role,
            display_name: display_name.into(),
            delivered_up_to: 0,
            read_up_to: 0,
            read_at: None,
        }
    }

    #[test]
    fn a_caregiver_speaks_for_the_patient_everyone_else_by_name() {
        let members = [
            member("p", Role::Patient, "Sam"),
            member("c", Role::Clinic, "Riverside Clinic"),
            member("d", Role::Caregiver, "Dana"),
        ];
        assert_eq!(speaker(&members, "d").as_deref(), Some("Dana for Sam"));
        assert_eq!(speaker(&members, "p").as_deref(), Some("Sam"));
        assert_eq!(speaker(&members, "c").as_deref(), Some("Riverside Clinic"));
        assert_eq!(speaker(&members, "gone"), None);
        assert_eq!(
            speaker(&members[1..], "d").as_deref(),
            Some("Dana · caregiver")
        );
    }

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

    #[test]
    fn roles_read_and_write_their_one_name() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.name()));
            assert_eq!(role.name().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!("doctor".parse::<Role>(), Err(UnknownRole("doctor".into())));
        assert!(serde_json::from_str::<Role>("\"doctor\"").is_err());
    }

    #[test]
    fn a_category_field_is_its_name_on_the_wire() {
        for category in Category::ALL {
            let request = CreateThreadRequest { category };
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(
                json,
                format!(r#"{{"category":"{}"}}"#, category::name(category))
            );
            assert_eq!(
                serde_json::from_str::<CreateThreadRequest>(&json).unwrap(),
                request
            );
        }
        // An unknown category is refused, not filed as "other".
        assert!(serde_json::from_str::<CreateThreadRequest>(r#"{"category":"surgery"}"#).is_err());
    }
}

#[cfg(test)]
mod role_names {
    #![allow(clippy::unwrap_used)]

    use super::Role;

    /// Each role reads back from what it writes; another name is an error.
    #[test]
    fn every_role_names_round_trips_by_name() {
        for value in [Role::Patient, Role::Clinic, Role::Caregiver] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), value);
        }
        assert!(serde_json::from_str::<Role>("\"nobody\"").is_err());
    }
}
