//! The clinic agent's attachments: encrypting a file chunk by chunk while
//! uploading it in parts, and downloading, decrypting and checking one into
//! a directory under a safe name.
//!
//! Neither direction holds a whole file in memory: an upload holds one part
//! (16 encrypted chunks, about 1 MiB), a download one part and the piece of
//! a chunk that straddles two parts.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use ward_proto::blobs::{
    BlobFinalized, BlobInfo, CHUNKS_PER_PART, CreateUploadRequest, UploadCreated,
    part_count_for_chunks,
};
use ward_seal::payload::AttachmentRef;
use ward_seal::random::os_rng;
use ward_seal::stream::{
    self, CHUNK_SIZE, Decryptor, Encryptor, FileHasher, FileKey, HEADER_LEN, StreamHeader,
};
use zeroize::Zeroizing;

use super::{AgentError, Client};

/// The media type the agent declares for a file, from its extension.
pub fn media_type_for(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("pdf") => "application/pdf",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("heic") => "image/heic",
        Some("webp") => "image/webp",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Characters that can disguise a name on screen: bidirectional overrides
/// and invisible joiners (`invoice\u{202E}fdp.exe`).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The most bytes of a saved file's name.
const MAX_NAME_BYTES: usize = 200;

/// A file name for an attachment's (sender-chosen, untrusted) `name` that
/// stays inside the directory it is saved to: the last path component only,
/// without control or invisible characters, characters Windows refuses, or
/// leading dots (no hidden files, no `..`), at most 200 bytes (keeping the
/// extension); `attachment` when nothing is left.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let mut name = trimmed.to_owned();
    if name.len() > MAX_NAME_BYTES {
        let (stem, extension) = split_extension(trimmed);
        let keep = MAX_NAME_BYTES.saturating_sub(extension.len());
        let mut cut = keep.min(stem.len());
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}{extension}", &stem[..cut]);
    }
    if name.is_empty() {
        "attachment".to_owned()
    } else {
        name
    }
}

/// `("report", ".pdf")`, `("passwd", "")`: a short extension is kept apart.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 10 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// `report.pdf`, `report (2).pdf`, `report (3).pdf`, ...
fn numbered(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_owned();
    }
    let (stem, extension) = split_extension(name);
    format!("{stem} ({n}){extension}")
}

/// A blob id as the relay writes them (letters, digits, `_`, `-`), so one
/// taken from a message cannot steer a request to another path.
fn checked_blob_id(blob_id: &str) -> Result<&str, AgentError> {
    let ok = !blob_id.is_empty()
        && blob_id.len() <= 100
        && blob_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(blob_id)
    } else {
        Err(AgentError::new(
            "the message names its attachment with a malformed blob id",
        ))
    }
}

fn io_error(what: &str, path: &Path, error: &std::io::Error) -> AgentError {
    AgentError::new(format!("could not {what} {}: {error}", path.display()))
}

/// Encrypts the file at `path` with a fresh file key and uploads it in parts
/// of [`CHUNKS_PER_PART`] encrypted chunks (part 0 starts with the stream
/// header), reading it chunk by chunk; finalizes the upload. The reference
/// to put in the message's payload (its `blob_id` goes in the request's
/// `attachments`).
pub async fn upload(client: &Client, path: &Path) -> Result<AttachmentRef, AgentError> {
    let file = File::open(path).map_err(|e| io_error("open", path, &e))?;
    let metadata = file.metadata().map_err(|e| io_error("read", path, &e))?;
    if !metadata.is_file() {
        return Err(AgentError::new(format!(
            "{} is not a file; --attach takes a file",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| AgentError::new(format!("{} names no file", path.display())))?;
    let plaintext_len = metadata.len();
    let file_key = FileKey::generate(&mut os_rng());
    let encryptor = Encryptor::new(&file_key, plaintext_len, &mut os_rng());
    let size = stream::encrypted_len(plaintext_len)
        .ok_or_else(|| AgentError::new(format!("{} is too large to send", path.display())))?;
    let chunk_count = encryptor.chunk_count();
    let part_count = u32::try_from(part_count_for_chunks(chunk_count))
        .map_err(|_| AgentError::new(format!("{} is too large to send", path.display())))?;
    let created: UploadCreated = client
        .post("/v1/uploads", &CreateUploadRequest { size, part_count })
        .await
        .map_err(|e| AgentError::new(format!("{} was not sent: {e}", path.display())))?;
    let mut reader = BufReader::with_capacity(CHUNK_SIZE, file);
    let mut hasher = FileHasher::default();
    let mut plaintext = Zeroizing::new(vec![0u8; CHUNK_SIZE]);
    let chunk_error = |e: stream::StreamError| AgentError::new(e.to_string());
    for part in 0..u64::from(part_count) {
        let first = part * CHUNKS_PER_PART;
        let end = (first + CHUNKS_PER_PART).min(chunk_count);
        let mut body = Vec::with_capacity(
            HEADER_LEN + (CHUNKS_PER_PART as usize) * stream::ENCRYPTED_CHUNK_SIZE,
        );
        if part == 0 {
            body.extend_from_slice(&encryptor.header().to_bytes());
        }
        for index in first..end {
            let len = encryptor.chunk_len(index).map_err(chunk_error)?;
            let chunk = plaintext.get_mut(..len).unwrap_or_default();
            reader.read_exact(chunk).map_err(|e| {
                AgentError::new(format!(
                    "{} changed while it was being sent ({e}); send it again",
                    path.display()
                ))
            })?;
            hasher.update(chunk);
            body.extend_from_slice(&encryptor.encrypt_chunk(index, chunk).map_err(chunk_error)?);
        }
        client
            .put_bytes(
                &format!("/v1/uploads/{}/parts/{part}", created.upload_id),
                body,
            )
            .await?;
    }
    let mut extra = [0u8; 1];
    if reader.read(&mut extra).unwrap_or(0) != 0 {
        return Err(AgentError::new(format!(
            "{} grew while it was being sent; send it again",
            path.display()
        )));
    }
    let blob: BlobFinalized = client
        .post_empty(&format!("/v1/uploads/{}/finalize", created.upload_id))
        .await?;
    Ok(AttachmentRef {
        blob_id: blob.blob_id,
        name,
        media_type: media_type_for(path).to_owned(),
        size: plaintext_len,
        file_key: file_key.to_bytes(),
        sha256: hasher.finish(),
        thumbnail: None,
    })
}

/// Downloads `attachment`, decrypts it part by part and checks its SHA-256
/// against the message's; only then does it appear in `dir`, under
/// [`safe_file_name`] (` (2)`, ` (3)`, ... when taken; never replacing a
/// file). The path it was saved to. On any failure nothing is left behind.
pub async fn save(
    client: &Client,
    attachment: &AttachmentRef,
    dir: &Path,
) -> Result<PathBuf, AgentError> {
    let blob_id = checked_blob_id(&attachment.blob_id)?;
    let suffix = super::random::<6>().map_err(|_| AgentError::new("no randomness"))?;
    let temp = dir.join(format!(
        ".ward-download-{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&temp)
        .map_err(|e| io_error("write to", dir, &e))?;
    let written = download_into(client, blob_id, attachment, file).await;
    let placed = written.and_then(|()| place(&temp, dir, &safe_file_name(&attachment.name)));
    if placed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    placed
}

/// Writes the decrypted, checked attachment to `file`.
async fn download_into(
    client: &Client,
    blob_id: &str,
    attachment: &AttachmentRef,
    file: File,
) -> Result<(), AgentError> {
    let info: BlobInfo = client.get(&format!("/v1/blobs/{blob_id}")).await?;
    let parts_total: u64 = info.part_sizes.iter().map(|s| u64::from(*s)).sum();
    if stream::encrypted_len(attachment.size) != Some(info.size) || parts_total != info.size {
        return Err(AgentError::new(format!(
            "the relay holds {} encrypted bytes, not what a {}-byte file encrypts to: it is damaged or not this file",
            info.size, attachment.size
        )));
    }
    let undecryptable =
        || AgentError::new("it does not decrypt: the stored file was altered, or the key is wrong");
    let file_key = FileKey::from_bytes(attachment.file_key);
    let mut writer = std::io::BufWriter::new(file);
    let mut hasher = FileHasher::default();
    let mut decryptor: Option<Decryptor> = None;
    let mut next_chunk = 0u64;
    // Bytes received but not yet decrypted: at most a part and a chunk.
    let mut pending: Vec<u8> = Vec::new();
    for (index, expected) in info.part_sizes.iter().enumerate() {
        let part = client
            .get_bytes(&format!("/v1/blobs/{blob_id}/parts/{index}"))
            .await?;
        if part.len() as u64 != u64::from(*expected) {
            return Err(AgentError::new(format!(
                "part {index} is {} bytes, not the {expected} the relay listed",
                part.len()
            )));
        }
        pending.extend_from_slice(&part);
        drop(part);
        let mut used = 0;
        if decryptor.is_none() && pending.len() >= HEADER_LEN {
            let header = StreamHeader::from_bytes(pending.get(..HEADER_LEN).unwrap_or_default())
                .map_err(|_| undecryptable())?;
            decryptor =
                Some(Decryptor::new(&file_key, &header, info.size).map_err(|_| undecryptable())?);
            used = HEADER_LEN;
        }
        if let Some(decryptor) = &decryptor {
            while let Some(range) = decryptor.chunk_range(next_chunk) {
                let len = usize::try_from(range.end - range.start).map_err(|_| undecryptable())?;
                let Some(chunk) = pending.get(used..used + len) else {
                    break;
                };
                let plaintext = decryptor
                    .decrypt_chunk(next_chunk, chunk)
                    .map_err(|_| undecryptable())?;
                hasher.update(&plaintext);
                writer
                    .write_all(&plaintext)
                    .map_err(|e| AgentError::new(format!("could not write the file: {e}")))?;
                used += len;
                next_chunk += 1;
            }
        }
        pending.drain(..used);
    }
    let complete = decryptor
        .as_ref()
        .is_some_and(|d| next_chunk == d.chunk_count())
        && pending.is_empty();
    if !complete {
        return Err(AgentError::new("the stored file ends early"));
    }
    if hasher.finish() != attachment.sha256 {
        return Err(AgentError::new(
            "its SHA-256 does not match the one in the message: the file was altered or damaged",
        ));
    }
    let file = writer
        .into_inner()
        .map_err(|e| AgentError::new(format!("could not write the file: {}", e.error())))?;
    file.sync_all()
        .map_err(|e| AgentError::new(format!("could not write the file: {e}")))
}

/// Gives the finished `temp` file its name in `dir`: `name`, or the first
/// free `name (N)`. Never replaces a file (nor follows a link) already there.
fn place(temp: &Path, dir: &Path, name: &str) -> Result<PathBuf, AgentError> {
    for n in 1..=1000 {
        let candidate = dir.join(numbered(name, n));
        match std::fs::hard_link(temp, &candidate) {
            Ok(()) => {
                let _ = std::fs::remove_file(temp);
                super::sync_parent(&candidate);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: rename onto a free name.
            Err(_) => {
                if std::fs::symlink_metadata(&candidate).is_ok() {
                    continue;
                }
                std::fs::rename(temp, &candidate).map_err(|e| io_error("save", &candidate, &e))?;
                super::sync_parent(&candidate);
                return Ok(candidate);
            }
        }
    }
    Err(AgentError::new(format!(
        "{} already holds 1000 files named like {name}; save to another directory",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hostile_names_become_safe_names_inside_the_directory() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\Windows\\win.ini"), "win.ini");
        assert_eq!(safe_file_name("/etc/shadow"), "shadow");
        assert_eq!(safe_file_name(".."), "attachment");
        assert_eq!(safe_file_name("."), "attachment");
        assert_eq!(safe_file_name(""), "attachment");
        assert_eq!(safe_file_name("dir/"), "attachment");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name(" ..hidden. "), "hidden");
        assert_eq!(
            safe_file_name("lab\u{7}\u{1b}[31mresults.pdf"),
            "lab[31mresults.pdf"
        );
        assert_eq!(safe_file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_file_name("C:evil?.pdf"), "C_evil_.pdf");
        assert_eq!(safe_file_name("rash photo.JPG"), "rash photo.JPG");
        let long = format!("{}.pdf", "é".repeat(300));
        let safe = safe_file_name(&long);
        assert!(
            safe.len() <= MAX_NAME_BYTES && safe.ends_with("é.pdf"),
            "{safe}"
        );
    }

    #[test]
    fn clashing_names_are_numbered_before_the_extension() {
        assert_eq!(numbered("report.pdf", 1), "report.pdf");
        assert_eq!(numbered("report.pdf", 2), "report (2).pdf");
        assert_eq!(numbered("passwd", 3), "passwd (3)");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
    }

    #[test]
    fn media_types_come_from_the_extension() {
        assert_eq!(media_type_for(Path::new("a/scan.PDF")), "application/pdf");
        assert_eq!(media_type_for(Path::new("x.jpeg")), "image/jpeg");
        assert_eq!(media_type_for(Path::new("x.jpg")), "image/jpeg");
        assert_eq!(media_type_for(Path::new("x.png")), "image/png");
        assert_eq!(media_type_for(Path::new("x.heic")), "image/heic");
        assert_eq!(media_type_for(Path::new("x.webp")), "image/webp");
        assert_eq!(media_type_for(Path::new("notes.txt")), "text/plain");
        assert_eq!(
            media_type_for(Path::new("x.exe")),
            "application/octet-stream"
        );
        assert_eq!(
            media_type_for(Path::new("README")),
            "application/octet-stream"
        );
    }

    #[test]
    fn blob_ids_from_messages_are_checked() {
        assert!(checked_blob_id("blob_AbC-09").is_ok());
        for bad in ["", "../threads", "blob/1", "a?b", "a b"] {
            assert!(checked_blob_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_is_placed_under_a_free_name_without_replacing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("passwd"), b"theirs").unwrap();
        let temp = dir.path().join(".ward-download-1");
        std::fs::write(&temp, b"ours").unwrap();
        let saved = place(&temp, dir.path(), "passwd").unwrap();
        assert_eq!(saved, dir.path().join("passwd (2)"));
        assert_eq!(std::fs::read(dir.path().join("passwd")).unwrap(), b"theirs");
        assert_eq!(std::fs::read(&saved).unwrap(), b"ours");
        assert!(!temp.exists());
    }
}
