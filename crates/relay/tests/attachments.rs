//! Encrypted attachments on a real relay with a fresh SQLite file and a
//! local blob directory: uploads in parts (out of order, retried, resumed),
//! finalize, attaching to a message, downloads by the thread's other member,
//! every refusal, expiry and cleanup, and what the store holds (ciphertext
//! only). Over a real socket, and in-process where noted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;
use ward_proto::ErrorCode;

use axum::body::Body;
use http_body_util::BodyExt;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use support::blobs::{
    create_upload, cut, download, encrypt, finalize, labs_post, message_with, plaintext, put_ok,
    put_part, upload,
};
use support::{NONE, Relay, events};
use tower::ServiceExt;
use ward_proto::blobs::{
    BlobFinalized, CreateUploadRequest, MAX_PART_SIZE, UploadCreated, UploadStatus,
};
use ward_proto::events::Event;
use ward_proto::threads::{MessagePage, PostMessageRequest, StoredMessage};
use ward_seal::envelope::Envelope;
use ward_seal::stream::{self, CHUNK_SIZE, FileHasher, FileKey};

/// An error answer's code, after checking its status.
async fn error_code(response: reqwest::Response, status: StatusCode) -> (String, String) {
    let got = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    (
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn blob_dir(relay: &Relay) -> PathBuf {
    relay.data.path().join(ward_relay::blobs::BLOB_DIR)
}

#[tokio::test]
async fn parts_go_up_out_of_order_and_the_clinic_downloads_them_byte_identical() {
    let relay = Relay::start().await;
    let (clinic, patient, thread, thread_key) = relay.conversation().await;
    let stranger = relay.patient(&clinic, "mallory@example.com").await;
    let p = Some(patient.token.as_str());

    // 5 chunks and an odd tail, cut into three parts that ignore chunk
    // boundaries (the relay does not care how a file is cut).
    let file = plaintext(4 * CHUNK_SIZE + 1234);
    let (file_key, encrypted, sha256) = encrypt(&file);
    let parts = cut(&encrypted, 100_000);
    assert_eq!(parts.len(), 3);
    let before = ward_relay::secrets::now_ms() as u64;
    let created: UploadCreated = relay
        .expect(
            Method::POST,
            "/v1/uploads",
            p,
            Some(&CreateUploadRequest {
                size: encrypted.len() as u64,
                part_count: 3,
            }),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created.max_part_size, 2_097_152);
    let day = 24 * 3600 * 1000;
    assert!(created.expires_at >= before + day && created.expires_at <= before + day + 60_000);
    let upload_id = created.upload_id;

    // Out of order, and part 0 twice: first wrong bytes, then the retry.
    put_ok(&relay, &patient, &upload_id, 2, &parts[2]).await;
    let wrong = vec![0xAA; parts[0].len()];
    put_ok(&relay, &patient, &upload_id, 0, &wrong).await;
    put_ok(&relay, &patient, &upload_id, 0, &parts[0]).await;
    let status: UploadStatus = relay.get_ok(&format!("/v1/uploads/{upload_id}"), p).await;
    assert_eq!(status.received, [0, 2]);
    assert_eq!(status.part_count, 3);
    assert_eq!(status.size, encrypted.len() as u64);
    assert!(!status.finalized);
    // Not a blob yet, not even for its uploader.
    relay
        .expect_not_found(&format!("/v1/blobs/{upload_id}"), p)
        .await;

    put_ok(&relay, &patient, &upload_id, 1, &parts[1]).await;
    let blob = finalize(&relay, &patient.token, &upload_id).await;
    assert_eq!(
        blob,
        BlobFinalized {
            blob_id: upload_id.clone(),
            size: encrypted.len() as u64,
            part_count: 3
        }
    );
    // Finalizing again gives the same answer.
    let again = finalize(&relay, &patient.token, &upload_id).await;
    assert_eq!(again, blob);
    let blob_id = blob.blob_id;

    // The retried part's first object is gone: one object per part.
    let objects = files_under(&blob_dir(&relay).join(&blob_id));
    assert_eq!(objects.len(), 3, "{objects:?}");

    // The uploader can read it back before attaching it; nobody else can.
    assert_eq!(download(&relay, &patient.token, &blob_id).await, encrypted);
    for token in [&clinic.token, &stranger.token] {
        relay
            .expect_not_found(&format!("/v1/blobs/{blob_id}"), Some(token))
            .await;
    }

    // Attached to a message: the clinic hears of it live and in the page.
    let mut clinic_events = events::connect(&relay, &clinic.id, &clinic.token).await;
    let post = labs_post(
        &patient,
        &thread_key,
        &thread.thread_id,
        &blob_id,
        &file_key,
        file.len(),
        sha256,
    );
    let messages_path = format!("/v1/threads/{}/messages", thread.thread_id);
    let stored: StoredMessage = relay
        .expect(
            Method::POST,
            &messages_path,
            p,
            Some(&post),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(stored.attachments, std::slice::from_ref(&blob_id));
    let Event::Message { message, .. } = events::next(&mut clinic_events).await else {
        panic!("expected the message event");
    };
    assert_eq!(message.attachments, std::slice::from_ref(&blob_id));
    // A retry answers with the original, attachments included.
    let retried: StoredMessage = relay
        .expect(Method::POST, &messages_path, p, Some(&post), StatusCode::OK)
        .await;
    assert_eq!(retried, stored);
    // Once attached it is kept with the message.
    let status: UploadStatus = relay.get_ok(&format!("/v1/uploads/{upload_id}"), p).await;
    assert!(status.finalized);
    assert_eq!(status.expires_at, u64::MAX);

    // The clinic reads the message, opens the payload and downloads the file.
    let page: MessagePage = relay
        .get_ok(
            &format!("{messages_path}?before=latest"),
            Some(&clinic.token),
        )
        .await;
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].attachments, std::slice::from_ref(&blob_id));
    let payload = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&thread_key, &thread.thread_id, patient.keys.bundle())
        .unwrap();
    let attachment = &payload.attachments[0];
    assert_eq!(attachment.blob_id, blob_id);
    let downloaded = download(&relay, &clinic.token, &attachment.blob_id).await;
    let opened =
        stream::decrypt_all(&FileKey::from_bytes(attachment.file_key), &downloaded).unwrap();
    assert_eq!(*opened, file);
    let mut hasher = FileHasher::default();
    hasher.update(&opened);
    assert_eq!(hasher.finish(), attachment.sha256);

    // A patient in no thread with it still gets 404, for the blob and parts.
    for path in [
        format!("/v1/blobs/{blob_id}"),
        format!("/v1/blobs/{blob_id}/parts/0"),
    ] {
        relay.expect_not_found(&path, Some(&stranger.token)).await;
    }

    // Counted: four parts stored (one a retry) and their bytes.
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("ward_attachment_parts_stored_total 4"),
        "{metrics}"
    );
    let uploaded = encrypted.len() + parts[0].len();
    assert!(
        metrics.contains(&format!("ward_attachment_bytes_uploaded_total {uploaded}")),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_what_its_status_lists() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (_, encrypted, _) = encrypt(&plaintext(3 * CHUNK_SIZE));
    let parts = cut(&encrypted, 50_000);
    assert_eq!(parts.len(), 4);
    let upload_id = create_upload(&relay, &patient, encrypted.len() as u64, 4).await;
    put_ok(&relay, &patient, &upload_id, 3, &parts[3]).await;
    put_ok(&relay, &patient, &upload_id, 1, &parts[1]).await;

    // The connection dropped; the client asks what arrived.
    let status: UploadStatus = relay
        .get_ok(&format!("/v1/uploads/{upload_id}"), Some(&patient.token))
        .await;
    assert_eq!(status.received, [1, 3]);
    for index in (0..status.part_count).filter(|i| !status.received.contains(i)) {
        put_ok(
            &relay,
            &patient,
            &upload_id,
            index as usize,
            &parts[index as usize],
        )
        .await;
    }
    let blob = finalize(&relay, &patient.token, &upload_id).await;
    assert_eq!(
        download(&relay, &patient.token, &blob.blob_id).await,
        encrypted
    );
}

#[tokio::test]
async fn uploads_over_the_limits_or_malformed_are_refused_with_specific_errors() {
    let relay = Relay::start_with(|config| {
        config.max_attachment_bytes = 2_500_000;
        config.attachment_quota_bytes = 3_000_000;
    })
    .await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let other = relay.patient(&clinic, "kim@example.com").await;
    let p = Some(patient.token.as_str());
    let create = |size: u64, part_count: u32| {
        let relay = &relay;
        let token = patient.token.clone();
        async move {
            relay
                .call(
                    Method::POST,
                    "/v1/uploads",
                    Some(&token),
                    Some(&CreateUploadRequest { size, part_count }),
                )
                .await
        }
    };

    // The per-file limit is on the encrypted size of a 2.5 MB file.
    let limit = stream::encrypted_len(2_500_000).unwrap();
    let (code, message) =
        error_code(create(limit + 1, 2).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(code, "too_large");
    assert!(message.contains("2.5 MB limit"), "{message}");
    // Malformed sizes and part counts.
    for (size, part_count) in [(0, 1), (10, 0), (10, 11), (u64::from(MAX_PART_SIZE) + 1, 1)] {
        let (code, _) = error_code(create(size, part_count).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "invalid_upload", "{size} in {part_count}");
    }
    let response = relay
        .call(
            Method::POST,
            "/v1/uploads",
            p,
            Some(&json!({"size": 10, "part_count": 1, "name": "labs.pdf"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The quota counts open uploads and finalized blobs: 2 MB + 1.5 MB > 3 MB.
    let first = create_upload(&relay, &patient, 2_000_000, 1).await;
    let (code, message) =
        error_code(create(1_500_000, 1).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(code, "quota_exceeded");
    assert!(
        message.contains("3 MB") && message.contains("2 MB is in use"),
        "{message}"
    );
    // Another account has its own quota.
    create_upload(&relay, &other, 1_500_000, 1).await;

    // Parts: too large (within and over the body limit), out of range, not
    // a number, empty.
    let small = create_upload(&relay, &patient, 100, 2).await;
    for len in [MAX_PART_SIZE as usize + 1, 3 * 1024 * 1024] {
        let (code, _) = error_code(
            put_part(&relay, &patient.token, &first, "0", vec![1; len]).await,
            StatusCode::PAYLOAD_TOO_LARGE,
        )
        .await;
        assert_eq!(code, "part_too_large", "{len} bytes");
    }
    for index in ["2", "-1", "x"] {
        let (code, message) = error_code(
            put_part(&relay, &patient.token, &small, index, vec![1; 10]).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(code, "invalid_part", "{index}");
        if index == "2" {
            assert!(message.contains("numbered 0 to 1"), "{message}");
        }
    }
    let (code, _) = error_code(
        put_part(&relay, &patient.token, &small, "0", Vec::new()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(code, "invalid_part");

    // Parts may never add up to more than the declared size.
    put_ok(&relay, &patient, &small, 0, &[7; 60]).await;
    let (code, _) = error_code(
        put_part(&relay, &patient.token, &small, "1", vec![7; 41]).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(code, "size_mismatch");

    // Finalize: a part missing, then the wrong total.
    let finalize = |upload_id: String, token: String| {
        let relay = &relay;
        async move {
            relay
                .call(
                    Method::POST,
                    &format!("/v1/uploads/{upload_id}/finalize"),
                    Some(&token),
                    NONE,
                )
                .await
        }
    };
    let (code, message) = error_code(
        finalize(small.clone(), patient.token.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "upload_incomplete");
    assert!(
        message.contains("1 of the 2 parts is missing (the first is part 1)"),
        "{message}"
    );
    put_ok(&relay, &patient, &small, 1, &[7; 30]).await;
    let (code, message) = error_code(
        finalize(small.clone(), patient.token.clone()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(code, "size_mismatch");
    assert!(
        message.contains("90 bytes") && message.contains("100"),
        "{message}"
    );
    put_ok(&relay, &patient, &small, 1, &[7; 40]).await;
    let blob: BlobFinalized = relay
        .expect(
            Method::POST,
            &format!("/v1/uploads/{small}/finalize"),
            p,
            NONE,
            StatusCode::OK,
        )
        .await;
    assert_eq!(blob.size, 100);
    // Finished: no part can change.
    let (code, _) = error_code(
        put_part(&relay, &patient.token, &small, "1", vec![7; 40]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "already_finalized");

    // Another account cannot see or touch my upload: the same 404 as none.
    for response in [
        relay
            .call(
                Method::GET,
                &format!("/v1/uploads/{first}"),
                Some(&other.token),
                NONE,
            )
            .await,
        put_part(&relay, &other.token, &first, "0", vec![1; 10]).await,
        finalize(first.clone(), other.token.clone()).await,
        relay
            .call(
                Method::GET,
                "/v1/uploads/blob_does_not_exist",
                Some(&other.token),
                NONE,
            )
            .await,
    ] {
        let (code, _) = error_code(response, StatusCode::NOT_FOUND).await;
        assert_eq!(code, "not_found");
    }
    // ...and my upload is untouched.
    let status: UploadStatus = relay.get_ok(&format!("/v1/uploads/{first}"), p).await;
    assert!(status.received.is_empty());
    // Without a session: 401.
    relay
        .expect_not_signed_in(&format!("/v1/uploads/{first}"), None)
        .await;
}

#[tokio::test]
async fn only_a_finalized_upload_of_the_senders_can_be_attached() {
    let relay = Relay::start().await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let other = relay.patient(&clinic, "kim@example.com").await;
    let messages_path = format!("/v1/threads/{}/messages", thread.thread_id);

    let (_, encrypted, _) = encrypt(&plaintext(1000));
    let others_blob = upload(&relay, &other, &encrypted, 600).await;
    let unfinished = create_upload(&relay, &patient, encrypted.len() as u64, 1).await;
    put_ok(&relay, &patient, &unfinished, 0, &encrypted).await;
    let mine = upload(&relay, &patient, &encrypted, 600).await;

    let post = |message_id: &str, attachments: Vec<String>| PostMessageRequest {
        envelope: message_with(&patient, &key, &thread.thread_id, message_id, Vec::new()),
        attachments,
    };
    for (i, attachments) in [
        vec![others_blob.clone()],
        vec![unfinished.clone()],
        vec!["blob_no_such_thing".to_owned()],
        vec![mine.clone(), others_blob.clone()],
    ]
    .into_iter()
    .enumerate()
    {
        let error = relay
            .expect_error(
                Method::POST,
                &messages_path,
                Some(&patient.token),
                Some(&post(&format!("m{i}"), attachments)),
                StatusCode::BAD_REQUEST,
                ErrorCode::UnknownAttachment,
            )
            .await;
        assert!(
            error
                .error
                .message
                .contains("not a finished upload of yours"),
            "{}",
            error.error.message
        );
    }
    relay
        .expect_error(
            Method::POST,
            &messages_path,
            Some(&patient.token),
            Some(&post("dup", vec![mine.clone(), mine.clone()])),
            StatusCode::BAD_REQUEST,
            ErrorCode::DuplicateAttachment,
        )
        .await;
    relay
        .expect_error(
            Method::POST,
            &messages_path,
            Some(&patient.token),
            Some(&post(
                "many",
                (0..11).map(|i| format!("blob_{i}")).collect(),
            )),
            StatusCode::BAD_REQUEST,
            ErrorCode::TooManyAttachments,
        )
        .await;
    // None of those stored a message, nor attached the sender's own blob
    // that was listed beside someone else's.
    let page: MessagePage = relay.get_ok(&messages_path, Some(&clinic.token)).await;
    assert!(page.messages.is_empty());
    relay
        .expect_not_found(&format!("/v1/blobs/{mine}"), Some(&clinic.token))
        .await;

    // The sender's own finalized blob is accepted; the other patient's is
    // still readable by its uploader only.
    let stored: StoredMessage = relay
        .expect(
            Method::POST,
            &messages_path,
            Some(&patient.token),
            Some(&post("ok", vec![mine.clone()])),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(stored.attachments, std::slice::from_ref(&mine));
    assert_eq!(download(&relay, &clinic.token, &mine).await, encrypted);
    relay
        .expect_not_found(&format!("/v1/blobs/{others_blob}"), Some(&clinic.token))
        .await;
    // A message without attachments has none in its JSON.
    let response = relay
        .call(
            Method::POST,
            &messages_path,
            Some(&patient.token),
            Some(&post("plain", Vec::new())),
        )
        .await;
    let text = response.text().await.unwrap();
    assert!(!text.contains("attachments"), "{text}");
}

#[tokio::test]
async fn expired_uploads_and_unattached_blobs_are_cleaned_up_rows_and_files() {
    let relay = Relay::start().await;
    let (clinic, patient, thread, key) = relay.conversation().await;
    let (_, encrypted, _) = encrypt(&plaintext(2 * CHUNK_SIZE));

    let unfinished = create_upload(&relay, &patient, encrypted.len() as u64, 2).await;
    put_ok(&relay, &patient, &unfinished, 0, &encrypted[..70_000]).await;
    let unattached = upload(&relay, &patient, &encrypted, 70_000).await;
    let attached = upload(&relay, &patient, &encrypted, 70_000).await;
    relay
        .expect::<_, StoredMessage>(
            Method::POST,
            &format!("/v1/threads/{}/messages", thread.thread_id),
            Some(&patient.token),
            Some(&PostMessageRequest {
                envelope: message_with(&patient, &key, &thread.thread_id, "m", Vec::new()),
                attachments: vec![attached.clone()],
            }),
            StatusCode::CREATED,
        )
        .await;
    for id in [&unfinished, &unattached, &attached] {
        assert!(blob_dir(&relay).join(id).is_dir(), "{id}");
    }
    let db = relay.db().await;
    let rows = |id: String| {
        let db = db.clone();
        async move {
            let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE blob_id = $1")
                .bind(&id)
                .fetch_one(&db)
                .await
                .unwrap();
            let parts: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM blob_parts WHERE blob_id = $1")
                    .bind(&id)
                    .fetch_one(&db)
                    .await
                    .unwrap();
            (blobs, parts)
        }
    };
    let now = ward_relay::secrets::now_ms();
    let hour = 3_600_000;
    let sweep = |at: i64| ward_relay::blobs::sweep(&relay.state.db, &relay.state.blobs, at);

    // Within a day nothing goes.
    let swept = sweep(now + 23 * hour).await.unwrap();
    assert_eq!(swept.blobs, 0);
    assert_eq!(rows(unfinished.clone()).await, (1, 1));

    // After a day the unfinished upload goes, rows and files.
    let swept = sweep(now + 24 * hour + 60_000).await.unwrap();
    assert_eq!((swept.blobs, swept.objects), (1, 1));
    assert_eq!(rows(unfinished.clone()).await, (0, 0));
    assert!(!blob_dir(&relay).join(&unfinished).exists());
    assert!(blob_dir(&relay).join(&unattached).is_dir());

    // After a week the finalized blob nobody attached goes too; the
    // attached one is kept with its message, however old.
    let swept = sweep(now + 7 * 24 * hour + 60_000).await.unwrap();
    assert_eq!((swept.blobs, swept.objects), (1, 2));
    assert_eq!(rows(unattached.clone()).await, (0, 0));
    assert!(!blob_dir(&relay).join(&unattached).exists());
    sweep(now + 365 * 24 * hour).await.unwrap();
    assert_eq!(rows(attached.clone()).await, (1, 2));
    assert_eq!(download(&relay, &clinic.token, &attached).await, encrypted);
    assert_eq!(
        files_under(&blob_dir(&relay)).len(),
        2,
        "only the attached blob's parts remain"
    );

    // Expired but not yet swept already reads as gone.
    let late = create_upload(&relay, &patient, 10, 1).await;
    sqlx::query("UPDATE blobs SET expires_at = $1 WHERE blob_id = $2")
        .bind(now - 1)
        .bind(&late)
        .execute(&db)
        .await
        .unwrap();
    let (code, _) = error_code(
        put_part(&relay, &patient.token, &late, "0", vec![1; 10]).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(code, "not_found");
}

#[tokio::test]
async fn the_blob_store_holds_only_ciphertext() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let file = plaintext(6 * CHUNK_SIZE + 999);
    let (_, encrypted, _) = encrypt(&file);
    // Parts of 16 chunks would be one part here: cut smaller, across chunks.
    let blob_id = upload(&relay, &patient, &encrypted, 150_000).await;

    let objects = files_under(&blob_dir(&relay));
    assert_eq!(objects.len(), encrypted.len().div_ceil(150_000));
    let stored: Vec<u8> = objects
        .iter()
        .flat_map(|path| std::fs::read(path).unwrap())
        .collect();
    // The harness did store the upload: the objects, in order, are it.
    assert_eq!(stored, encrypted);
    assert!(
        objects
            .iter()
            .all(|o| o.starts_with(blob_dir(&relay).join(&blob_id)))
    );
    let database = relay.stored_bytes().await;
    for chunk in file.chunks(CHUNK_SIZE) {
        for object in &objects {
            let bytes = std::fs::read(object).unwrap();
            assert!(
                !bytes.windows(chunk.len()).any(|w| w == chunk),
                "{} holds plaintext",
                object.display()
            );
        }
        assert!(!database.windows(chunk.len()).any(|w| w == chunk));
        // Not even a short run of it.
        let probe = &chunk[..48];
        assert!(!stored.windows(probe.len()).any(|w| w == probe));
    }
}

#[tokio::test]
async fn parts_go_up_and_down_in_process_too() {
    // The same routes driven through the router without a socket.
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let app = ward_relay::app(relay.state.clone());
    let upload_id = create_upload(&relay, &patient, 5000, 2).await;
    // One request as Sam, through a fresh clone of the router each time.
    let in_process = |method: &str, uri: String, body: Vec<u8>| {
        app.clone().oneshot(
            axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", patient.token))
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    for (index, len) in [(0, 3000), (1, 2000)] {
        let response = in_process(
            "PUT",
            format!("/v1/uploads/{upload_id}/parts/{index}"),
            vec![index as u8; len],
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    // Over the body limit in-process as well.
    let response = in_process(
        "PUT",
        format!("/v1/uploads/{upload_id}/parts/0"),
        vec![0; 4 * 1024 * 1024],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("part_too_large"));

    let response = in_process(
        "POST",
        format!("/v1/uploads/{upload_id}/finalize"),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = in_process("GET", format!("/v1/blobs/{upload_id}/parts/1"), Vec::new())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "2000");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], &[1; 2000][..]);
}

#[tokio::test]
async fn upload_and_download_speed_on_loopback() {
    // Not a benchmark with a threshold: prints MB/s for the record.
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let encrypted: Vec<u8> = (0..16 * 1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let started = Instant::now();
    let blob_id = upload(&relay, &patient, &encrypted, MAX_PART_SIZE as usize).await;
    let up = started.elapsed();
    let started = Instant::now();
    let downloaded = download(&relay, &patient.token, &blob_id).await;
    let down = started.elapsed();
    assert_eq!(downloaded, encrypted);
    let mb = encrypted.len() as f64 / 1e6;
    eprintln!(
        "16 MiB in 2 MiB parts on loopback: upload {:.1} MB/s, download {:.1} MB/s",
        mb / up.as_secs_f64(),
        mb / down.as_secs_f64()
    );
}
