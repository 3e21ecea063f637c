//! Attachments: photos and documents, encrypted in the browser chunk by
//! chunk (`ward_seal::stream`) before a byte is uploaded, and decrypted
//! chunk by chunk when opened. The file key and the file's SHA-256 travel
//! inside the message's sealed payload; the relay holds only ciphertext.

pub(crate) mod download;
pub(crate) mod photo;
mod read;
pub(crate) mod upload;

use std::fmt;

use ward_seal::payload::AttachmentRef;
use ward_seal::stream::FileKey;
use zeroize::Zeroizing;

use crate::i18n::{Text, fill, t};
use crate::session::{Session, SessionError};

/// An attachment as a message shows it. `Debug` leaves out the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The relay's id for the encrypted file.
    pub blob_id: String,
    /// The file's name as the sender saw it.
    pub name: String,
    /// Its media type (`image/jpeg`, `application/pdf`).
    pub media_type: String,
    /// Plaintext bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, checked after decrypting.
    pub sha256: [u8; 32],
    /// A small JPEG preview, for photos.
    pub thumbnail: Option<Vec<u8>>,
    key: Zeroizing<[u8; 32]>,
}

impl Attachment {
    /// From a decrypted payload's reference.
    pub fn from_ref(reference: &AttachmentRef) -> Self {
        Self {
            blob_id: reference.blob_id.clone(),
            name: reference.name.clone(),
            media_type: reference.media_type.clone(),
            size: reference.size,
            sha256: reference.sha256,
            thumbnail: reference.thumbnail.clone(),
            key: Zeroizing::new(reference.file_key),
        }
    }

    /// A new attachment about to be sealed into a message.
    pub fn new(
        blob_id: String,
        name: String,
        media_type: String,
        size: u64,
        sha256: [u8; 32],
        thumbnail: Option<Vec<u8>>,
        key: &FileKey,
    ) -> Self {
        Self {
            blob_id,
            name,
            media_type,
            size,
            sha256,
            thumbnail,
            key: Zeroizing::new(key.to_bytes()),
        }
    }

    /// The reference to seal into a payload.
    pub fn to_ref(&self) -> AttachmentRef {
        AttachmentRef {
            blob_id: self.blob_id.clone(),
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
            file_key: *self.key,
            sha256: self.sha256,
            thumbnail: self.thumbnail.clone(),
        }
    }

    /// The key that opens the file.
    pub fn file_key(&self) -> FileKey {
        FileKey::from_bytes(*self.key)
    }

    /// Whether the thread shows it as a picture.
    pub fn is_image(&self) -> bool {
        self.media_type.starts_with("image/")
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("blob_id", &self.blob_id)
            .field("media_type", &self.media_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Fetches, decrypts and checks `attachment` for a screen that asked to
/// see or save it; `on_progress` gets the bytes decrypted so far. A lock or
/// sign-out while it was on its way drops the file (`Interrupted`) rather
/// than handing plaintext to a session that is over.
pub(crate) async fn open(
    session: Session,
    attachment: &Attachment,
    on_progress: impl Fn(u64),
) -> Result<web_sys::Blob, SessionError> {
    let ticket = session.ticket();
    let token = session.token().ok_or(SessionError::Interrupted)?;
    let file = download::open(&token, attachment, on_progress).await?;
    session.check(ticket)?;
    Ok(file)
}

/// Why a file cannot be attached, in words for the patient; `None` when
/// it can. `allowed` is the clinic's list of media types.
pub(crate) fn refusal(
    name: &str,
    media_type: &str,
    size: u64,
    max: u64,
    allowed: &[String],
) -> Option<String> {
    if size == 0 {
        return Some(fill(Text::AttachEmpty, &[("name", name)]));
    }
    if max > 0 && size > max {
        return Some(fill(
            Text::AttachTooBig,
            &[
                ("name", name),
                ("size", &size_label(size)),
                ("max", &size_label(max)),
            ],
        ));
    }
    if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(media_type)) {
        return Some(fill(
            Text::AttachKindRefused,
            &[("name", name), ("kinds", &kinds_label(allowed))],
        ));
    }
    None
}

/// "photos (JPEG, PNG) and PDF documents".
fn kinds_label(allowed: &[String]) -> String {
    let mut photos = Vec::new();
    let mut others = Vec::new();
    for media_type in allowed {
        match media_type.split_once('/') {
            Some(("image", kind)) => photos.push(kind.to_ascii_uppercase()),
            Some(("application", "pdf")) => others.push(t(Text::AttachKindsPdf).to_owned()),
            _ => others.push(media_type.clone()),
        }
    }
    let mut parts = Vec::new();
    if !photos.is_empty() {
        let formats = photos.join(", ");
        parts.push(fill(Text::AttachKindsPhotos, &[("formats", &formats)]));
    }
    parts.extend(others);
    parts
        .into_iter()
        .reduce(|first, second| {
            fill(
                Text::AttachKindsAnd,
                &[("first", &first), ("second", &second)],
            )
        })
        .unwrap_or_default()
}

/// "20.0 MB", "512 KB", "312 bytes" (decimal units, as phones show them;
/// "20,0 MB" where the language writes a decimal comma).
pub(crate) fn size_label(bytes: u64) -> String {
    match bytes {
        0..1_000 => fill(Text::AttachSizeBytes, &[("n", &bytes.to_string())]),
        1_000..1_000_000 => fill(Text::AttachSizeKb, &[("n", &(bytes / 1_000).to_string())]),
        // Tenths of a megabyte, rounded, in integers: formatting a float
        // would add 10 KB of code to the client.
        _ => {
            let tenths = bytes.saturating_add(50_000) / 100_000;
            fill(
                Text::AttachSizeMb,
                &[
                    ("whole", &(tenths / 10).to_string()),
                    ("tenth", &(tenths % 10).to_string()),
                ],
            )
        }
    }
}

/// How far along, in whole percent (an empty file is done).
pub(crate) fn percent(done: u64, total: u64) -> u64 {
    done.saturating_mul(100)
        .checked_div(total)
        .unwrap_or(100)
        .min(100)
}

/// The media type for a file the browser could not type, from its name.
pub(crate) fn media_type_for(name: &str, given: &str) -> String {
    if !given.is_empty() {
        return given.to_ascii_lowercase();
    }
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("heic") => "image/heic",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        ["image/jpeg", "image/png", "application/pdf"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn empty_large_and_unaccepted_files_are_refused_with_a_reason() {
        let max = 100_000_000;
        assert_eq!(
            refusal("scan.pdf", "application/pdf", 2_000, max, &allowed()),
            None
        );
        assert!(
            refusal("scan.pdf", "application/pdf", 0, max, &allowed())
                .unwrap()
                .contains("empty")
        );
        let big = refusal("video.jpg", "image/jpeg", 100_000_001, max, &allowed()).unwrap();
        assert!(big.contains("100.0 MB"), "{big}");
        let kind = refusal("notes.docx", "application/msword", 10, max, &allowed()).unwrap();
        assert!(
            kind.contains("photos (JPEG, PNG) and PDF documents"),
            "{kind}"
        );
        assert_eq!(refusal("a.JPG", "IMAGE/JPEG", 10, max, &allowed()), None);
    }

    #[test]
    fn debug_never_shows_the_file_key() {
        let key = FileKey::from_bytes([0xAB; 32]);
        let attachment = Attachment::new(
            "b".into(),
            "rash.jpg".into(),
            "image/jpeg".into(),
            3,
            [0; 32],
            None,
            &key,
        );
        let shown = format!("{attachment:?}");
        assert!(
            !shown.to_lowercase().contains("ab, ab") && !shown.contains("171"),
            "{shown}"
        );
        assert!(
            !shown.contains("rash"),
            "names are health data too: {shown}"
        );
    }

    #[test]
    fn sizes_read_like_a_phone_shows_them() {
        assert_eq!(size_label(312), "312 bytes");
        assert_eq!(size_label(512_000), "512 KB");
        assert_eq!(size_label(20_000_000), "20.0 MB");
        assert_eq!(size_label(1_250_000), "1.3 MB");
        assert_eq!(size_label(1_249_999), "1.2 MB");
        assert_eq!(size_label(999_999_999), "1000.0 MB");
        assert_eq!(media_type_for("Lab Results.PDF", ""), "application/pdf");
        assert_eq!(media_type_for("x", "image/png"), "image/png");
    }
}
