//! What a message carries, before it is padded and encrypted.
//!
//! Encoding: `version u8 (1)` followed by fields, each
//! `tag u16 || length u32 || value`, in any order. A decoder skips tags it
//! does not know, so a newer client can add fields without breaking older
//! ones. Nested structures (quick-reply options, attachments) are field lists
//! of their own inside a value. The padded form is
//! `u32 length || encoded payload || zero bytes` up to
//! [`crate::padding::padded_len`]`(4 + length)`.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::padding::padded_len;
use crate::wire::{Malformed, Reader};

const VERSION: u8 = 1;
/// `tag u16 || length u32`.
const FIELD_HEADER: usize = 6;

/// The largest encoded payload accepted (thumbnails ride inside).
pub const MAX_ENCODED_LEN: usize = 512 * 1024;

mod tag {
    pub const TEXT: u16 = 1;
    pub const IN_REPLY_TO: u16 = 2;
    pub const QUICK_REPLY_OPTION: u16 = 3;
    pub const QUICK_REPLY_CHOSEN: u16 = 4;
    pub const ATTACHMENT: u16 = 5;
    pub const CATEGORY: u16 = 6;
    pub const KEY_HEAD: u16 = 7;
    pub const SUBJECT: u16 = 8;
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not a payload of a version this client reads, or broken framing.
    #[error("the message content is not in a format this version of Ward understands")]
    Malformed,
    /// Larger than [`MAX_ENCODED_LEN`].
    #[error("the message is too large")]
    TooLarge,
}

impl From<Malformed> for PayloadError {
    fn from(_: Malformed) -> Self {
        Self::Malformed
    }
}

/// The plaintext of one message. Zeroized on drop: it is health data.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Payload {
    /// The message text.
    pub text: String,
    /// The message id this one answers.
    pub in_reply_to: Option<String>,
    /// Quick replies offered to the other side.
    pub quick_reply_options: Vec<QuickReplyOption>,
    /// The quick reply this message chooses.
    pub quick_reply_chosen: Option<QuickReplyChosen>,
    /// Files attached (their keys travel here, inside the encryption).
    pub attachments: Vec<AttachmentRef>,
    /// What the thread is about, on its first message.
    #[zeroize(skip)]
    pub category: Option<Category>,
    /// The sender's pinned key-history heads for the thread's members,
    /// itself included (tag 7, repeated; empty from older clients), so a
    /// receiver can tell when the relay showed members different histories.
    pub key_heads: Vec<SeenKeyHead>,
    /// The thread's subject, in the envelope the patient stores with the
    /// thread when starting it (tag 8; never in a message).
    pub subject: Option<String>,
}

/// One member's key-history head as the sender pinned it
/// ([`crate::key_history::KeyHead`] with whose it is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Zeroize)]
pub struct SeenKeyHead {
    /// Whose history.
    pub account_id: String,
    /// The pinned head's seq.
    pub seq: u64,
    /// The pinned head's hash.
    pub hash: [u8; 32],
}

/// One quick reply offered.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct QuickReplyOption {
    /// Stable id within the offering message.
    pub id: String,
    /// What the button says.
    pub label: String,
}

/// A quick reply chosen.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct QuickReplyChosen {
    /// The message that offered it.
    pub offer_message_id: String,
    /// The option's id.
    pub option_id: String,
}

/// A reference to an encrypted attachment and the key that opens it.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AttachmentRef {
    /// The relay's id for the encrypted blob.
    pub blob_id: String,
    /// The file's name as the sender saw it.
    pub name: String,
    /// Media type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The attachment stream's file key.
    pub file_key: [u8; 32],
    /// SHA-256 of the plaintext file.
    pub sha256: [u8; 32],
    /// A small preview image (JPEG/PNG bytes), for images.
    pub thumbnail: Option<Vec<u8>>,
}

pub use crate::category::Category;

// Message content is health information, and so is its shape (a refill
// request, an attachment's type, an exact length the padding hides): Debug
// shows counts only, never content, never in logs or panics.
impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("quick_reply_options", &self.quick_reply_options.len())
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for QuickReplyOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QuickReplyOption(..)")
    }
}

impl fmt::Debug for QuickReplyChosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QuickReplyChosen(..)")
    }
}

impl fmt::Debug for AttachmentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentRef")
            .field("blob_id", &self.blob_id)
            .finish_non_exhaustive()
    }
}

impl Payload {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        let mut payload = Self::default();
        payload.text = text.into();
        payload
    }

    /// The encoded payload (not yet padded).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        // Sized up front: a growing Vec would free unwiped copies of the
        // plaintext as it reallocates.
        let mut out = Zeroizing::new(Vec::with_capacity(self.encoded_len_bound()));
        out.push(VERSION);
        put_str(&mut out, tag::TEXT, &self.text);
        if let Some(id) = &self.in_reply_to {
            put_str(&mut out, tag::IN_REPLY_TO, id);
        }
        for option in &self.quick_reply_options {
            let mut inner = Zeroizing::new(Vec::with_capacity(
                2 * FIELD_HEADER + option.id.len() + option.label.len(),
            ));
            put_str(&mut inner, 1, &option.id);
            put_str(&mut inner, 2, &option.label);
            put_field(&mut out, tag::QUICK_REPLY_OPTION, &inner);
        }
        if let Some(chosen) = &self.quick_reply_chosen {
            let mut inner = Zeroizing::new(Vec::with_capacity(
                2 * FIELD_HEADER + chosen.offer_message_id.len() + chosen.option_id.len(),
            ));
            put_str(&mut inner, 1, &chosen.offer_message_id);
            put_str(&mut inner, 2, &chosen.option_id);
            put_field(&mut out, tag::QUICK_REPLY_CHOSEN, &inner);
        }
        for attachment in &self.attachments {
            let mut inner = Zeroizing::new(Vec::with_capacity(attachment_len_bound(attachment)));
            put_str(&mut inner, 1, &attachment.blob_id);
            put_str(&mut inner, 2, &attachment.name);
            put_str(&mut inner, 3, &attachment.media_type);
            put_field(&mut inner, 4, &attachment.size.to_be_bytes());
            put_field(&mut inner, 5, &attachment.file_key);
            put_field(&mut inner, 6, &attachment.sha256);
            if let Some(thumbnail) = &attachment.thumbnail {
                put_field(&mut inner, 7, thumbnail);
            }
            put_field(&mut out, tag::ATTACHMENT, &inner);
        }
        if let Some(category) = self.category {
            put_field(&mut out, tag::CATEGORY, &[category.code()]);
        }
        for head in &self.key_heads {
            let mut inner = Vec::with_capacity(3 * FIELD_HEADER + head.account_id.len() + 8 + 32);
            put_str(&mut inner, 1, &head.account_id);
            put_field(&mut inner, 2, &head.seq.to_be_bytes());
            put_field(&mut inner, 3, &head.hash);
            put_field(&mut out, tag::KEY_HEAD, &inner);
        }
        if let Some(subject) = &self.subject {
            put_str(&mut out, tag::SUBJECT, subject);
        }
        out
    }

    /// An upper bound on `encode().len()`.
    fn encoded_len_bound(&self) -> usize {
        let options: usize = self
            .quick_reply_options
            .iter()
            .map(|o| 3 * FIELD_HEADER + o.id.len() + o.label.len())
            .sum();
        let chosen = self.quick_reply_chosen.as_ref().map_or(0, |c| {
            3 * FIELD_HEADER + c.offer_message_id.len() + c.option_id.len()
        });
        let attachments: usize = self
            .attachments
            .iter()
            .map(|a| FIELD_HEADER + attachment_len_bound(a))
            .sum();
        let heads: usize = self
            .key_heads
            .iter()
            .map(|h| 4 * FIELD_HEADER + h.account_id.len() + 8 + 32)
            .sum();
        1 + 4 * FIELD_HEADER
            + heads
            + self.text.len()
            + self.subject.as_ref().map_or(0, String::len)
            + self.in_reply_to.as_ref().map_or(0, String::len)
            + options
            + chosen
            + attachments
            + 1
    }

    /// Decodes an encoded payload, skipping unknown fields.
    pub fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(PayloadError::TooLarge);
        }
        let mut reader = Reader::new(bytes);
        if reader.u8()? != VERSION {
            return Err(PayloadError::Malformed);
        }
        let mut payload = Self::default();
        let mut seen_text = false;
        for field in Fields(reader) {
            let (tag, value) = field?;
            match tag {
                tag::TEXT => {
                    once(&mut seen_text)?;
                    payload.text = utf8(value)?;
                }
                tag::IN_REPLY_TO => set_once(&mut payload.in_reply_to, utf8(value)?)?,
                tag::QUICK_REPLY_OPTION => {
                    let mut option = QuickReplyOption::default();
                    let (mut id, mut label) = (false, false);
                    for inner in Fields(Reader::new(value)) {
                        match inner? {
                            (1, v) => (once(&mut id)?, option.id = utf8(v)?).1,
                            (2, v) => (once(&mut label)?, option.label = utf8(v)?).1,
                            _ => {}
                        }
                    }
                    require(id && label)?;
                    payload.quick_reply_options.push(option);
                }
                tag::QUICK_REPLY_CHOSEN => {
                    let mut chosen = QuickReplyChosen::default();
                    let (mut offer, mut option) = (false, false);
                    for inner in Fields(Reader::new(value)) {
                        match inner? {
                            (1, v) => (once(&mut offer)?, chosen.offer_message_id = utf8(v)?).1,
                            (2, v) => (once(&mut option)?, chosen.option_id = utf8(v)?).1,
                            _ => {}
                        }
                    }
                    require(offer && option)?;
                    set_once(&mut payload.quick_reply_chosen, chosen)?;
                }
                tag::ATTACHMENT => payload.attachments.push(decode_attachment(value)?),
                tag::CATEGORY => {
                    let [code] = <[u8; 1]>::try_from(value).map_err(|_| PayloadError::Malformed)?;
                    set_once(&mut payload.category, Category::from_code(code))?;
                }
                tag::KEY_HEAD => payload.key_heads.push(decode_key_head(value)?),
                tag::SUBJECT => set_once(&mut payload.subject, utf8(value)?)?,
                _ => {}
            }
        }
        require(seen_text)?;
        Ok(payload)
    }

    /// Encoded and padded: what the envelope encrypts.
    pub fn to_padded(&self) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
        let encoded = self.encode();
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(PayloadError::TooLarge);
        }
        let total = padded_len(4 + encoded.len());
        let mut out = Zeroizing::new(Vec::with_capacity(total));
        out.extend_from_slice(
            &u32::try_from(encoded.len())
                .map_err(|_| PayloadError::TooLarge)?
                .to_be_bytes(),
        );
        out.extend_from_slice(&encoded);
        out.resize(total, 0);
        Ok(out)
    }

    /// The inverse of [`Self::to_padded`]: the padding must be exactly the
    /// length the rule gives and all zero.
    pub fn from_padded(padded: &[u8]) -> Result<Self, PayloadError> {
        let mut reader = Reader::new(padded);
        let len = usize::try_from(reader.u32()?).map_err(|_| PayloadError::Malformed)?;
        if len > MAX_ENCODED_LEN {
            return Err(PayloadError::TooLarge);
        }
        let encoded = reader.take(len)?;
        let padding = reader.take(reader.remaining())?;
        if padded.len() != padded_len(4 + len) || padding.iter().any(|&b| b != 0) {
            return Err(PayloadError::Malformed);
        }
        Self::decode(encoded)
    }
}

/// An upper bound on an attachment's nested encoding.
fn attachment_len_bound(a: &AttachmentRef) -> usize {
    7 * FIELD_HEADER
        + a.blob_id.len()
        + a.name.len()
        + a.media_type.len()
        + 8
        + 32
        + 32
        + a.thumbnail.as_ref().map_or(0, Vec::len)
}

fn decode_attachment(value: &[u8]) -> Result<AttachmentRef, PayloadError> {
    let mut attachment = AttachmentRef::default();
    let mut seen = [false; 7];
    for inner in Fields(Reader::new(value)) {
        let (tag, v) = inner?;
        if let Some(slot) = usize::from(tag)
            .checked_sub(1)
            .and_then(|i| seen.get_mut(i))
        {
            once(slot)?;
        }
        match tag {
            1 => attachment.blob_id = utf8(v)?,
            2 => attachment.name = utf8(v)?,
            3 => attachment.media_type = utf8(v)?,
            4 => {
                attachment.size =
                    u64::from_be_bytes(v.try_into().map_err(|_| PayloadError::Malformed)?)
            }
            5 => attachment.file_key = v.try_into().map_err(|_| PayloadError::Malformed)?,
            6 => attachment.sha256 = v.try_into().map_err(|_| PayloadError::Malformed)?,
            7 => attachment.thumbnail = Some(v.to_vec()),
            _ => {}
        }
    }
    // Everything but the thumbnail is required.
    require(seen[..6].iter().all(|&s| s))?;
    Ok(attachment)
}

/// `1: account_id (UTF-8) || 2: seq u64 || 3: hash [32]`, all required,
/// each once; unknown inner tags are skipped.
fn decode_key_head(value: &[u8]) -> Result<SeenKeyHead, PayloadError> {
    let mut head = SeenKeyHead::default();
    let (mut account, mut seq, mut hash) = (false, false, false);
    for inner in Fields(Reader::new(value)) {
        match inner? {
            (1, v) => (once(&mut account)?, head.account_id = utf8(v)?).1,
            (2, v) => {
                once(&mut seq)?;
                head.seq = u64::from_be_bytes(v.try_into().map_err(|_| PayloadError::Malformed)?);
            }
            (3, v) => {
                once(&mut hash)?;
                head.hash = v.try_into().map_err(|_| PayloadError::Malformed)?;
            }
            _ => {}
        }
    }
    require(account && seq && hash && !head.account_id.is_empty())?;
    Ok(head)
}

/// Iterates `tag u16 || length u32 || value` fields to the end of the input.
struct Fields<'a>(Reader<'a>);

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u16, &'a [u8]), PayloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.remaining() == 0 {
            return None;
        }
        let field = (|| {
            let tag = self.0.u16()?;
            let value = self.0.bytes32(MAX_ENCODED_LEN)?;
            Ok::<_, Malformed>((tag, value))
        })();
        match field {
            Ok(field) => Some(Ok(field)),
            Err(_) => {
                // Stop after the first framing error.
                self.0 = Reader::new(&[]);
                Some(Err(PayloadError::Malformed))
            }
        }
    }
}

fn put_field(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    out.extend_from_slice(&tag.to_be_bytes());
    crate::wire::put_bytes32(out, value);
}

fn put_str(out: &mut Vec<u8>, tag: u16, value: &str) {
    put_field(out, tag, value.as_bytes());
}

fn utf8(bytes: &[u8]) -> Result<String, PayloadError> {
    // Validate before copying, so a failure leaves no copy behind.
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| PayloadError::Malformed)
}

/// A field that may appear at most once.
fn once(seen: &mut bool) -> Result<(), PayloadError> {
    if std::mem::replace(seen, true) {
        Err(PayloadError::Malformed)
    } else {
        Ok(())
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), PayloadError> {
    if slot.is_some() {
        return Err(PayloadError::Malformed);
    }
    *slot = Some(value);
    Ok(())
}

fn require(ok: bool) -> Result<(), PayloadError> {
    if ok {
        Ok(())
    } else {
        Err(PayloadError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn full() -> Payload {
        Payload {
            text: "The rash is spreading; photo attached.".into(),
            in_reply_to: Some("m-41".into()),
            quick_reply_options: vec![
                QuickReplyOption {
                    id: "yes".into(),
                    label: "Yes, book it".into(),
                },
                QuickReplyOption {
                    id: "no".into(),
                    label: "Not now".into(),
                },
            ],
            quick_reply_chosen: Some(QuickReplyChosen {
                offer_message_id: "m-40".into(),
                option_id: "tue".into(),
            }),
            attachments: vec![AttachmentRef {
                blob_id: "b-1".into(),
                name: "arm.jpg".into(),
                media_type: "image/jpeg".into(),
                size: 2_000_000,
                file_key: [7; 32],
                sha256: [9; 32],
                thumbnail: Some(vec![0xff, 0xd8, 0xff]),
            }],
            category: Some(Category::Question),
            key_heads: vec![SeenKeyHead {
                account_id: "acc-sam".into(),
                seq: 2,
                hash: [5; 32],
            }],
            subject: None,
        }
    }

    #[test]
    fn a_subject_round_trips_and_only_once() {
        let mut payload = Payload::default();
        payload.subject = Some("Refill: blood pressure pills".into());
        let encoded = payload.encode();
        assert_eq!(Payload::decode(&encoded).unwrap(), payload);
        assert_eq!(Payload::decode(&full().encode()).unwrap().subject, None);
        let mut twice = encoded.to_vec();
        put_str(&mut twice, tag::SUBJECT, "again");
        assert_eq!(Payload::decode(&twice), Err(PayloadError::Malformed));
    }

    #[test]
    fn key_heads_round_trip_and_old_payloads_have_none() {
        let mut payload = Payload::text("hi");
        assert!(
            Payload::decode(&payload.encode())
                .unwrap()
                .key_heads
                .is_empty()
        );
        payload.key_heads = vec![
            SeenKeyHead {
                account_id: "clinic-1".into(),
                seq: 0,
                hash: [1; 32],
            },
            SeenKeyHead {
                account_id: "acc-sam".into(),
                seq: 3,
                hash: [2; 32],
            },
        ];
        assert_eq!(Payload::decode(&payload.encode()).unwrap(), payload);
        // A head missing its hash, or with a short one, is refused.
        let mut inner = Vec::new();
        put_str(&mut inner, 1, "acc");
        put_field(&mut inner, 2, &1u64.to_be_bytes());
        let mut bad = Payload::text("hi").encode().to_vec();
        put_field(&mut bad, tag::KEY_HEAD, &inner);
        assert_eq!(Payload::decode(&bad), Err(PayloadError::Malformed));
        put_field(&mut inner, 3, &[0; 31]);
        let mut bad = Payload::text("hi").encode().to_vec();
        put_field(&mut bad, tag::KEY_HEAD, &inner);
        assert_eq!(Payload::decode(&bad), Err(PayloadError::Malformed));
    }

    #[test]
    fn every_field_round_trips() {
        let payload = full();
        assert_eq!(Payload::decode(&payload.encode()).unwrap(), payload);
        assert_eq!(
            Payload::from_padded(&payload.to_padded().unwrap()).unwrap(),
            payload
        );
    }

    #[test]
    fn every_category_round_trips_through_its_byte() {
        let mut bytes = Vec::new();
        for category in Category::ALL {
            assert_eq!(Category::from_code(category.code()), category);
            let mut payload = Payload::text("hi");
            payload.category = Some(category);
            let decoded = Payload::decode(&payload.encode()).unwrap();
            assert_eq!(decoded.category, Some(category));
            bytes.push(category.code());
        }
        // The bytes crypto.md §6 gives, each used once.
        assert_eq!(bytes, [1, 2, 3, 4, 6, 5]);
        // A category with a byte of its own is in `ALL` (what the client
        // offers and the relay stores).
        for byte in 0..=u8::MAX {
            let category = Category::from_code(byte);
            if category.code() == byte {
                assert!(Category::ALL.contains(&category), "{byte}");
            }
        }
    }

    #[test]
    fn unknown_fields_and_categories_are_tolerated() {
        let mut encoded = Payload::text("hi").encode().to_vec();
        put_field(&mut encoded, 999, b"from the future");
        put_field(&mut encoded, tag::CATEGORY, &[77]);
        let decoded = Payload::decode(&encoded).unwrap();
        assert_eq!(decoded.text, "hi");
        assert_eq!(decoded.category, Some(Category::Other));
    }

    #[test]
    fn duplicates_missing_text_and_bad_padding_are_refused() {
        let mut twice = Payload::text("a").encode().to_vec();
        put_str(&mut twice, tag::TEXT, "b");
        assert_eq!(Payload::decode(&twice), Err(PayloadError::Malformed));
        assert_eq!(Payload::decode(&[VERSION]), Err(PayloadError::Malformed));
        assert_eq!(Payload::decode(&[2]), Err(PayloadError::Malformed));
        let mut padded = Payload::text("a").to_padded().unwrap().to_vec();
        *padded.last_mut().unwrap() = 1;
        assert_eq!(Payload::from_padded(&padded), Err(PayloadError::Malformed));
        let mut short = Payload::text("a").to_padded().unwrap().to_vec();
        short.pop();
        assert_eq!(Payload::from_padded(&short), Err(PayloadError::Malformed));
    }

    #[test]
    fn short_messages_all_pad_to_one_size() {
        let yes = Payload::text("yes").to_padded().unwrap();
        let long_no = Payload::text("no, the pain is much worse than yesterday")
            .to_padded()
            .unwrap();
        assert_eq!(yes.len(), long_no.len());
    }

    #[test]
    fn debug_shows_no_content() {
        let debug = format!("{:?}", full());
        assert!(!debug.contains("rash"), "{debug}");
        assert!(!debug.contains("arm.jpg"), "{debug}");
        assert!(!debug.contains("Yes, book it"), "{debug}");
    }
}
