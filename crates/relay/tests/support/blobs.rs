//! Encrypted attachments as an app sends them: a file encrypted with the
//! attachment stream, uploaded in parts, finalized, referenced from a sealed
//! message and downloaded again. Shared by the attachment, S3 blob store and
//! clinic agent tests, which all need a real blob on the relay to start from
//! and would otherwise each carry their own copy of these steps.

use reqwest::{Method, StatusCode, header};
use ward_proto::Bytes;
use ward_proto::blobs::{BlobFinalized, BlobInfo, CreateUploadRequest, UploadCreated};
use ward_proto::threads::PostMessageRequest;
use ward_seal::envelope::{self, Header};
use ward_seal::payload::{AttachmentRef, Payload};
use ward_seal::random::os_rng;
use ward_seal::stream::{self, CHUNK_SIZE, Encryptor, FileHasher, FileKey};
use ward_seal::thread_key::ThreadKey;

use super::{Account, NONE, Relay};

/// `len` bytes of recognizable "plaintext": every 64 KiB chunk differs, so
/// a chunk stored in the wrong place or twice shows up as a mismatch, and
/// the text can be searched for on disk or in a bucket.
pub fn plaintext(len: usize) -> Vec<u8> {
    let line = b"Patient: Sam Example. Lab result: potassium 4.1 mmol/L. ";
    (0..len)
        .map(|i| line[i % line.len()] ^ ((i / CHUNK_SIZE) as u8))
        .collect()
}

/// Encrypts `plaintext` chunk by chunk with the attachment stream, as the
/// apps do before uploading: the key, the encrypted file (header and
/// chunks, checked to be the length the stream promises) and the
/// plaintext's SHA-256 (what an [`AttachmentRef`] carries).
pub fn encrypt(plaintext: &[u8]) -> (FileKey, Vec<u8>, [u8; 32]) {
    let key = FileKey::generate(&mut os_rng());
    let encryptor = Encryptor::new(&key, plaintext.len() as u64, &mut os_rng());
    let mut out = encryptor.header().to_bytes().to_vec();
    let mut hasher = FileHasher::default();
    let mut chunks = plaintext.chunks(CHUNK_SIZE);
    for index in 0..encryptor.chunk_count() {
        let chunk = chunks.next().unwrap_or(&[]);
        hasher.update(chunk);
        out.extend_from_slice(&encryptor.encrypt_chunk(index, chunk).unwrap());
    }
    assert_eq!(
        Some(out.len() as u64),
        stream::encrypted_len(plaintext.len() as u64)
    );
    (key, out, hasher.finish())
}

/// `bytes` cut into parts of `part_size` (the last one shorter): how a
/// client splits a file for upload, regardless of chunk boundaries.
pub fn cut(bytes: &[u8], part_size: usize) -> Vec<Vec<u8>> {
    bytes.chunks(part_size).map(<[u8]>::to_vec).collect()
}

/// `POST /v1/uploads` as `account`, expecting 201; the upload id.
pub async fn create_upload(relay: &Relay, account: &Account, size: u64, part_count: u32) -> String {
    let created: UploadCreated = relay
        .expect(
            Method::POST,
            "/v1/uploads",
            Some(&account.token),
            Some(&CreateUploadRequest { size, part_count }),
            StatusCode::CREATED,
        )
        .await;
    created.upload_id
}

/// `PUT /v1/uploads/{id}/parts/{index}` with raw bytes, whatever it
/// answers (`index` is a string so that malformed ones can be sent too).
pub async fn put_part(
    relay: &Relay,
    token: &str,
    upload_id: &str,
    index: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    relay
        .http
        .put(format!(
            "{}/v1/uploads/{upload_id}/parts/{index}",
            relay.url
        ))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Puts part `index` of `upload_id` as `account` and expects 204 (the
/// relay's answer in the message otherwise).
pub async fn put_ok(relay: &Relay, account: &Account, upload_id: &str, index: usize, bytes: &[u8]) {
    let response = put_part(
        relay,
        &account.token,
        upload_id,
        &index.to_string(),
        bytes.to_vec(),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "part {index}: {}",
        response.text().await.unwrap()
    );
}

/// `POST /v1/uploads/{id}/finalize` as `token`, expecting 200.
pub async fn finalize(relay: &Relay, token: &str, upload_id: &str) -> BlobFinalized {
    relay
        .expect(
            Method::POST,
            &format!("/v1/uploads/{upload_id}/finalize"),
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await
}

/// Uploads `encrypted` as `account` in parts of `part_size`, in order, and
/// finalizes it: the blob id.
pub async fn upload(
    relay: &Relay,
    account: &Account,
    encrypted: &[u8],
    part_size: usize,
) -> String {
    let parts = cut(encrypted, part_size);
    let upload_id = create_upload(relay, account, encrypted.len() as u64, parts.len() as u32).await;
    for (index, part) in parts.iter().enumerate() {
        put_ok(relay, account, &upload_id, index, part).await;
    }
    finalize(relay, &account.token, &upload_id).await.blob_id
}

/// Encrypts `plaintext`, uploads it as `sender` in parts of `part_size`
/// and finalizes it; the reference a payload carries for it (named `name`,
/// a PDF).
pub async fn upload_file(
    relay: &Relay,
    sender: &Account,
    plaintext: &[u8],
    part_size: usize,
    name: &str,
) -> AttachmentRef {
    let (file_key, encrypted, sha256) = encrypt(plaintext);
    let blob_id = upload(relay, sender, &encrypted, part_size).await;
    let mut reference = attachment_ref(&blob_id, &file_key, plaintext.len(), sha256);
    reference.name = name.to_owned();
    reference
}

/// Every part of `blob_id`, downloaded as `token`, each checked against
/// the size the blob's info gives and served as no-store octets; the parts
/// add up to the blob's size.
pub async fn download_parts(relay: &Relay, token: &str, blob_id: &str) -> Vec<Vec<u8>> {
    let info: BlobInfo = relay
        .expect(
            Method::GET,
            &format!("/v1/blobs/{blob_id}"),
            Some(token),
            NONE,
            StatusCode::OK,
        )
        .await;
    let mut parts = Vec::new();
    for (index, size) in info.part_sizes.iter().enumerate() {
        let response = relay
            .call(
                Method::GET,
                &format!("/v1/blobs/{blob_id}/parts/{index}"),
                Some(token),
                NONE,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "part {index}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes.len(), *size as usize);
        parts.push(bytes.to_vec());
    }
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>() as u64, info.size);
    parts
}

/// Downloads every part of `blob_id` as `token` (checked as in
/// [`download_parts`]): the concatenation, the encrypted file.
pub async fn download(relay: &Relay, token: &str, blob_id: &str) -> Vec<u8> {
    download_parts(relay, token, blob_id).await.concat()
}

/// A sealed epoch-0 message from `sender` whose payload carries
/// `attachments` ("Here are my results").
pub fn message_with(
    sender: &Account,
    key: &ThreadKey,
    thread_id: &str,
    message_id: &str,
    attachments: Vec<AttachmentRef>,
) -> Bytes {
    sealed_with_attachments(
        sender,
        key,
        thread_id,
        message_id,
        "Here are my results",
        attachments,
    )
}

/// A sealed epoch-0 envelope from `sender` whose payload is `text` with
/// `attachments`: the references only a member holding the thread key can
/// read (the request lists the blob ids beside it).
pub fn sealed_with_attachments(
    sender: &Account,
    key: &ThreadKey,
    thread_id: &str,
    message_id: &str,
    text: &str,
    attachments: Vec<AttachmentRef>,
) -> Bytes {
    let mut payload = Payload::text(text);
    payload.attachments = attachments;
    let header = Header {
        thread_id: thread_id.to_owned(),
        epoch: 0,
        message_id: message_id.to_owned(),
        sender_id: sender.id.clone(),
        sent_at_ms: 1,
    };
    Bytes(
        envelope::seal(&sender.keys, key, header, &payload, &mut os_rng())
            .unwrap()
            .to_bytes(),
    )
}

/// The payload's reference to an uploaded file ("labs.pdf", a PDF of
/// `size` plaintext bytes).
pub fn attachment_ref(
    blob_id: &str,
    key: &FileKey,
    size: usize,
    sha256: [u8; 32],
) -> AttachmentRef {
    AttachmentRef {
        blob_id: blob_id.to_owned(),
        name: "labs.pdf".into(),
        media_type: "application/pdf".into(),
        size: size as u64,
        file_key: key.to_bytes(),
        sha256,
        thumbnail: None,
    }
}

/// Posts a message from `sender` whose payload carries `attachments` and
/// whose request lists their blobs, expecting 201.
pub async fn post_with_attachments(
    relay: &Relay,
    sender: &Account,
    key: &ThreadKey,
    thread_id: &str,
    message_id: &str,
    text: &str,
    attachments: Vec<AttachmentRef>,
) {
    let blob_ids = attachments.iter().map(|a| a.blob_id.clone()).collect();
    let sealed = sealed_with_attachments(sender, key, thread_id, message_id, text, attachments);
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{thread_id}/messages"),
            Some(&sender.token),
            Some(&PostMessageRequest {
                envelope: sealed,
                attachments: blob_ids,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// The request for message "with-labs" carrying one uploaded file as
/// "labs.pdf" (see [`attachment_ref`]) and listing its blob: how a test
/// attaches the blob it just uploaded.
pub fn labs_post(
    sender: &Account,
    key: &ThreadKey,
    thread_id: &str,
    blob_id: &str,
    file_key: &FileKey,
    size: usize,
    sha256: [u8; 32],
) -> PostMessageRequest {
    PostMessageRequest {
        envelope: message_with(
            sender,
            key,
            thread_id,
            "with-labs",
            vec![attachment_ref(blob_id, file_key, size, sha256)],
        ),
        attachments: vec![blob_id.to_owned()],
    }
}
