//! The relay's blob store in an S3-compatible bucket: moto's S3 server,
//! started here on a free loopback port, holds the attachment parts while a
//! real relay runs the upload flow over HTTP (parts out of order, one put
//! twice, finalize, attach, the thread's other member downloads them), and
//! the expiry sweep deletes an unfinished upload's objects from the bucket.
//! The bucket is listed and read by a client configured in this test, not
//! through the relay, to show what it holds.
//!
//! Needs moto's server: `cargo xtask setup` installs it, and `cargo xtask
//! test` passes its path in `WARD_MOTO_SERVER`. Without it this test fails;
//! it does not skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use reqwest::{Method, StatusCode};
use support::Relay;
use support::blobs::{
    create_upload, download_parts, encrypt, finalize, labs_post, plaintext, put_ok,
};
use ward_proto::threads::{MessagePage, StoredMessage};
use ward_relay::blobs::{BlobStore, Swept};
use ward_seal::envelope::Envelope;
use ward_seal::stream::{self, CHUNK_SIZE, FileKey};

const BUCKET: &str = "ward-attachments";
const PREFIX: &str = "clinic-1";

/// moto's S3 server, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts `$WARD_MOTO_SERVER` on a free loopback port and waits until it
    /// answers (a port taken in between is retried on another).
    async fn start() -> Self {
        let server = std::env::var_os("WARD_MOTO_SERVER").map(PathBuf::from).unwrap_or_else(|| {
            panic!(
                "WARD_MOTO_SERVER is not set. This test runs the relay's blob store against moto's \
                 S3 server: run `cargo xtask setup` (it installs moto into ~/.cache/ward/moto-venv), \
                 then `cargo xtask test host`, which sets WARD_MOTO_SERVER; or set \
                 WARD_MOTO_SERVER=$HOME/.cache/ward/moto-venv/bin/moto_server yourself"
            )
        });
        assert!(
            server.is_file(),
            "WARD_MOTO_SERVER names {}, which does not exist: run `cargo xtask setup`",
            server.display()
        );
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("moto.log");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::options().append(true).open(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", server.display()));
            let mut moto = Self {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                log,
                _dir: dir,
            };
            if moto.ready().await {
                return moto;
            }
            let said = moto.said();
            if !said.contains("already in use") {
                panic!(
                    "moto's server ({}) did not start:\n{said}",
                    server.display()
                );
            }
        }
        panic!("moto's server found no free port in three tries");
    }

    /// Whether the server answers within 30 s (false if it exited).
    async fn ready(&mut self) -> bool {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if http.get(&self.endpoint).send().await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto's server did not answer within 30 s:\n{}", self.said());
    }

    /// What the server printed.
    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The relay's `AWS_*` settings for this server (fake credentials:
    /// moto accepts any).
    fn relay_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "ward-test-key"),
            ("AWS_SECRET_ACCESS_KEY", "ward-test-secret"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    async fn create_bucket(&self, bucket: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "creating {bucket}");
    }

    /// A client of the bucket of its own, configured here (not through the
    /// relay), to see what the bucket holds.
    fn bucket(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_access_key_id("ward-test-key")
            .with_secret_access_key("ward-test-secret")
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .build()
            .unwrap()
    }
}

/// Every key in `bucket` under `prefix`, sorted.
async fn list(bucket: &AmazonS3, prefix: &str) -> Vec<String> {
    let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
    let mut keys: Vec<String> = bucket
        .list(prefix.as_ref())
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

/// The bytes of `key` in `bucket`.
async fn object(bucket: &AmazonS3, key: &str) -> Vec<u8> {
    let got = bucket.get(&ObjectPath::from(key)).await.unwrap();
    got.bytes().await.unwrap().to_vec()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The part index in an object key `<prefix>/<blob id>/<index>-<random>`.
fn part_index(key: &str) -> usize {
    let name = key.rsplit('/').next().unwrap();
    name.split('-').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn attachments_go_up_down_and_expire_in_an_s3_bucket() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let bucket = moto.bucket(BUCKET);
    let env = moto.relay_env();
    let relay = Relay::start_with_state(
        |config| config.blob_store = Some(format!("s3://{BUCKET}/{PREFIX}")),
        |state| {
            state.blobs = BlobStore::open_with_env(&state.config, env).unwrap();
        },
    )
    .await;
    assert_eq!(
        relay.state.blobs.description(),
        format!("s3://{BUCKET}/{PREFIX}")
    );
    assert!(relay.state.blobs.local_dir().is_none());

    let (clinic, patient, thread, thread_key) = relay.conversation().await;
    let p = Some(patient.token.as_str());

    // Three parts, out of order, part 0 twice: wrong bytes, then the retry.
    let file = plaintext(4 * CHUNK_SIZE + 1234);
    let (file_key, encrypted, sha256) = encrypt(&file);
    let parts: Vec<&[u8]> = encrypted.chunks(100_000).collect();
    assert_eq!(parts.len(), 3);
    let upload_id = create_upload(&relay, &patient, encrypted.len() as u64, 3).await;
    put_ok(&relay, &patient, &upload_id, 2, parts[2]).await;
    put_ok(&relay, &patient, &upload_id, 0, &vec![0xAA; parts[0].len()]).await;
    put_ok(&relay, &patient, &upload_id, 0, parts[0]).await;
    put_ok(&relay, &patient, &upload_id, 1, parts[1]).await;
    let blob = finalize(&relay, &patient.token, &upload_id).await;
    assert_eq!(blob.part_count, 3);
    let blob_id = blob.blob_id;

    // The bucket holds one object per part under the prefix, each the part's
    // ciphertext: the retried part's first object is gone.
    let blob_prefix = format!("{PREFIX}/{blob_id}/");
    let stored = list(&bucket, &blob_prefix).await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    for key in &stored {
        let index = part_index(key);
        assert_eq!(object(&bucket, key).await, parts[index], "{key}");
    }
    assert_eq!(
        stored.iter().map(|k| part_index(k)).collect::<Vec<_>>(),
        [0, 1, 2]
    );

    // Attached to a message; the clinic reads it and downloads every part.
    let messages_path = format!("/v1/threads/{}/messages", thread.thread_id);
    let _: StoredMessage = relay
        .expect(
            Method::POST,
            &messages_path,
            p,
            Some(&labs_post(
                &patient,
                &thread_key,
                &thread.thread_id,
                &blob_id,
                &file_key,
                file.len(),
                sha256,
            )),
            StatusCode::CREATED,
        )
        .await;
    let page: MessagePage = relay
        .get_ok(
            &format!("{messages_path}?before=latest"),
            Some(&clinic.token),
        )
        .await;
    let payload = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&thread_key, &thread.thread_id, patient.keys.bundle())
        .unwrap();
    let attachment = &payload.attachments[0];
    assert_eq!(attachment.blob_id, blob_id);
    let downloaded = download_parts(&relay, &clinic.token, &blob_id).await;
    assert_eq!(downloaded, parts);
    let opened = stream::decrypt_all(
        &FileKey::from_bytes(attachment.file_key),
        &downloaded.concat(),
    )
    .unwrap();
    assert_eq!(*opened, file);

    // An upload left unfinished: its part is in the bucket until it expires,
    // a day after it began; then the sweep deletes it, and only it.
    let unfinished = create_upload(&relay, &patient, encrypted.len() as u64, 2).await;
    put_ok(&relay, &patient, &unfinished, 0, &encrypted[..70_000]).await;
    let unfinished_prefix = format!("{PREFIX}/{unfinished}/");
    assert_eq!(list(&bucket, &unfinished_prefix).await.len(), 1);
    let now = ward_relay::secrets::now_ms();
    let hour = 3_600_000;
    let sweep = |at: i64| ward_relay::blobs::sweep(&relay.state.db, &relay.state.blobs, at);
    assert_eq!(sweep(now + 23 * hour).await.unwrap(), Swept::default());
    assert_eq!(list(&bucket, &unfinished_prefix).await.len(), 1);
    assert_eq!(
        sweep(now + 24 * hour + 60_000).await.unwrap(),
        Swept {
            blobs: 1,
            objects: 1
        }
    );
    assert_eq!(
        list(&bucket, &unfinished_prefix).await,
        Vec::<String>::new()
    );

    // The attached blob stays, however old, and nothing is outside the prefix.
    sweep(now + 365 * 24 * hour).await.unwrap();
    assert_eq!(list(&bucket, "").await, stored);
    assert_eq!(download_parts(&relay, &clinic.token, &blob_id).await, parts);
    assert!(
        !relay.data.path().join(ward_relay::blobs::BLOB_DIR).exists(),
        "nothing went to the local disk"
    );
}
