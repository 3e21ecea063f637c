//! Where attachment ciphertext lives: an object store (local files under
//! `<data>/blobs` by default, an S3-compatible bucket by configuration),
//! and the cleanup pass that deletes expired uploads and unattached blobs.
//!
//! Routes never talk to `object_store` directly: they store and fetch parts
//! through [`BlobStore`]. Every stored object is immutable and named
//! `<blob id>/<part index>-<random>`; the database's `blob_parts` row says
//! which object holds a part, so replacing a part (a retry) writes a new
//! object, switches the row, then deletes the old object, and a reader never
//! sees a half-replaced part.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sqlx::AnyPool;

use crate::background::Task;
use crate::config::Config;

/// The local blob directory's name inside the data directory.
pub const BLOB_DIR: &str = "blobs";

/// How often `serve` runs the cleanup pass (it also runs once at start).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Why the blob store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// `blob_store` is not a location the relay can use.
    #[error("blob_store {value:?} {reason}")]
    Location {
        /// The configured value.
        value: String,
        /// What is wrong with it, and what to write instead.
        reason: String,
    },
    /// The local blob directory could not be created.
    #[error(
        "could not create the blob directory {path}: {source}. Check that the data directory is writable, or set blob_store"
    )]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored object could not be made the relay user's own.
    #[error(
        "could not make the blob file {path} readable by the relay's user only: {source}. Check that the relay's user owns the blob directory"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The object store failed.
    #[error("the blob store failed: {0}")]
    Store(#[from] object_store::Error),
    /// The database failed during cleanup.
    #[error("the database failed during blob cleanup: {0}")]
    Database(#[from] sqlx::Error),
}

/// A parsed `blob_store` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on this machine.
    Local(PathBuf),
    /// An S3-compatible bucket, with a key prefix (possibly empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// Keys start with this (no leading or trailing `/`).
        prefix: String,
    },
}

impl Location {
    /// `value` (`file:///dir` or `s3://bucket/prefix`), or `<data>/blobs`
    /// when `value` is `None`.
    pub fn of(value: Option<&str>, data: &Path) -> Result<Self, BlobError> {
        match value {
            None => Ok(Self::Local(data.join(BLOB_DIR))),
            Some(value) => Self::parse(value),
        }
    }

    /// Parses a `blob_store` value.
    pub fn parse(value: &str) -> Result<Self, BlobError> {
        let wrong = |reason: &str| BlobError::Location {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(value).map_err(|_| {
            wrong("is not a URL; write s3://bucket/prefix for a bucket or file:///absolute/path for a directory")
        })?;
        match url.scheme() {
            "file" => {
                let path = url.to_file_path().map_err(|()| {
                    wrong("must name an absolute directory, like file:///var/lib/ward/blobs")
                })?;
                Ok(Self::Local(path))
            }
            "s3" => {
                let bucket = url
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| wrong("names no bucket; write s3://bucket/prefix"))?;
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(wrong(
                        "must not have a query or fragment; credentials and endpoint come from the AWS_* environment variables",
                    ));
                }
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: url.path().trim_matches('/').to_owned(),
                })
            }
            _ => Err(wrong(
                "must start with s3:// (a bucket) or file:// (a directory)",
            )),
        }
    }
}

/// The attachment store: cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Where it is, for logs (never credentials).
    description: Arc<str>,
    /// The local directory, when the store is local (for tests and checks).
    local_dir: Option<Arc<Path>>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("location", &self.description)
            .finish_non_exhaustive()
    }
}

impl BlobStore {
    /// Opens the store `config` names (creating the local directory); a
    /// bucket is configured by this process's `AWS_*` environment variables
    /// (see [`BlobStore::open_with_env`]).
    pub fn open(config: &Config) -> Result<Self, BlobError> {
        Self::open_with_env(config, std::env::vars_os())
    }

    /// Opens the store `config` names, configuring a bucket from the
    /// `AWS_*` variables in `env` (given as `(name, value)` pairs, like
    /// [`std::env::vars_os`]) instead of this process's environment; other
    /// names, and values that are not UTF-8, are ignored. A test runs
    /// against a server it started on a port it chose, without changing
    /// its own process's environment.
    ///
    /// The variables read are object_store's: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`
    /// (`us-east-1` when unset), and for an S3-compatible server (MinIO,
    /// Ceph, moto, ...) `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) with
    /// `AWS_ALLOW_HTTP=true` when that URL is `http://`. Requests are
    /// path-style (`<endpoint>/<bucket>/<key>`), as S3-compatible servers
    /// expect (tests/blob_store_s3.rs runs against moto's);
    /// `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true` switches to
    /// `<bucket>.<host>`, and the endpoint must then name the bucket.
    /// Without an access key the credentials come from the instance or
    /// container metadata service, as on AWS.
    pub fn open_with_env<K, V>(
        config: &Config,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, BlobError>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        match Location::of(config.blob_store.as_deref(), &config.data)? {
            Location::Local(dir) => Self::local(&dir),
            Location::S3 { bucket, prefix } => {
                // What `AmazonS3Builder::from_env` does, over `env`.
                let mut builder = object_store::aws::AmazonS3Builder::new();
                for (name, value) in env {
                    let (Some(name), Some(value)) =
                        (name.as_ref().to_str(), value.as_ref().to_str())
                    else {
                        continue;
                    };
                    if !name.starts_with("AWS_") {
                        continue;
                    }
                    if let Ok(key) = name.to_ascii_lowercase().parse() {
                        builder = builder.with_config(key, value);
                    }
                }
                let s3 = builder.with_bucket_name(&bucket).build()?;
                let description = format!("s3://{bucket}/{prefix}");
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        ObjectPath::from(prefix.as_str()),
                    ))
                };
                Ok(Self {
                    store,
                    description: description.into(),
                    local_dir: None,
                })
            }
        }
    }

    /// A store in the local directory `dir` (created if missing, made
    /// 0700; every object written is made 0600).
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        crate::files::private_dir(dir).map_err(|source| BlobError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?
            // A part is acknowledged only once it is on disk.
            .with_fsync(true)
            // Deleting a blob's last part removes its directory.
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
            description: dir.display().to_string().into(),
            local_dir: Some(Arc::from(dir)),
        })
    }

    /// The local directory, if the store is one.
    pub fn local_dir(&self) -> Option<&Path> {
        self.local_dir.as_deref()
    }

    /// Where the store is, for logs.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A fresh object name for part `index` of `blob_id`.
    pub fn part_object(blob_id: &str, index: u32) -> Result<String, crate::ApiError> {
        let nonce = crate::secrets::random::<8>()?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("{blob_id}/{index:06}-{nonce}"))
    }

    /// Stores `bytes` as `object` (atomically: whole or not at all).
    pub async fn put(&self, object: &str, bytes: Bytes) -> Result<(), BlobError> {
        let location = ObjectPath::from(object);
        self.store
            .put(&location, PutPayload::from_bytes(bytes))
            .await?;
        if let Some(dir) = &self.local_dir {
            // The local store writes with the process's umask: the file is
            // made the relay's own (its directory already is).
            let file = location
                .parts()
                .fold(dir.to_path_buf(), |path, part| path.join(part.as_ref()));
            crate::files::restrict(&file)
                .map_err(|source| BlobError::Permissions { path: file, source })?;
        }
        Ok(())
    }

    /// `object`'s bytes. Read whole: an object is one part (at most 2 MiB),
    /// and the local store streams in 8 KiB steps, a blocking task each,
    /// which measured at a third of the speed.
    pub async fn get(&self, object: &str) -> Result<Bytes, BlobError> {
        let result = self.store.get(&ObjectPath::from(object)).await?;
        Ok(result.bytes().await?)
    }

    /// Deletes `object`; one already gone is fine.
    pub async fn delete(&self, object: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(object)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes every object of `blob_id` (its parts, and any left behind by
    /// a write that was interrupted); how many.
    pub async fn delete_blob(&self, blob_id: &str) -> Result<u64, BlobError> {
        let prefix = ObjectPath::from(blob_id);
        let objects: Vec<ObjectPath> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let mut deleted = 0;
        for object in objects {
            match self.store.delete(&object).await {
                Ok(()) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(deleted)
    }
}

/// What one cleanup pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads and blobs (rows).
    pub blobs: u64,
    /// Stored objects.
    pub objects: u64,
}

/// Deletes every upload and blob whose expiry is at or before `now_ms`
/// (Unix milliseconds): unfinished uploads past `upload_expiry_hours`,
/// finalized blobs no message attached within `unattached_blob_expiry_days`.
/// Objects go first, then rows, so an interrupted pass is finished by the
/// next. Blobs a message references have no expiry and are never deleted.
pub async fn sweep(db: &AnyPool, store: &BlobStore, now_ms: i64) -> Result<Swept, BlobError> {
    let mut swept = Swept::default();
    loop {
        let expired = crate::store::blobs::expired(db, now_ms).await?;
        if expired.is_empty() {
            return Ok(swept);
        }
        for blob_id in &expired {
            swept.objects += store.delete_blob(blob_id).await?;
            let mut tx = db.begin().await?;
            crate::store::blobs::delete_parts(&mut tx, blob_id).await?;
            crate::store::blobs::delete(&mut tx, blob_id).await?;
            tx.commit().await?;
            swept.blobs += 1;
        }
    }
}

/// Runs [`sweep`] now and then every [`SWEEP_INTERVAL`], logging failures
/// (the next pass retries).
pub fn spawn_sweeper(db: AnyPool, store: BlobStore) -> Task {
    Task::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match sweep(&db, &store, crate::secrets::now_ms()).await {
                Ok(swept) if swept.blobs > 0 => tracing::info!(
                    blobs = swept.blobs,
                    objects = swept.objects,
                    "expired uploads and unattached blobs deleted"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "blob cleanup failed; retrying later"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn locations_parse_and_bad_ones_say_what_to_write() {
        let data = Path::new("/srv/ward");
        assert_eq!(
            Location::of(None, data).unwrap(),
            Location::Local(PathBuf::from("/srv/ward/blobs"))
        );
        assert_eq!(
            Location::parse("file:///var/lib/ward-blobs").unwrap(),
            Location::Local(PathBuf::from("/var/lib/ward-blobs"))
        );
        assert_eq!(
            Location::parse("s3://ward-blobs/clinic/one/").unwrap(),
            Location::S3 {
                bucket: "ward-blobs".into(),
                prefix: "clinic/one".into()
            }
        );
        assert_eq!(
            Location::parse("s3://ward-blobs").unwrap(),
            Location::S3 {
                bucket: "ward-blobs".into(),
                prefix: String::new()
            }
        );
        for bad in ["blobs", "ftp://x/y", "s3:///prefix", "s3://b/p?region=x"] {
            let error = Location::parse(bad).unwrap_err().to_string();
            assert!(error.starts_with("blob_store"), "{bad}: {error}");
        }
    }

    #[tokio::test]
    async fn an_s3_bucket_opens_without_contacting_it() {
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            data: data.path().to_path_buf(),
            blob_store: Some("s3://ward-blobs/clinic-1".into()),
            ..Config::default()
        };
        let store = BlobStore::open(&config).unwrap();
        assert_eq!(store.description(), "s3://ward-blobs/clinic-1");
        assert!(store.local_dir().is_none());
        assert!(!data.path().join(BLOB_DIR).exists());
    }

    #[tokio::test]
    async fn local_objects_round_trip_and_a_blob_deletes_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::local(&dir.path().join("blobs")).unwrap();
        store
            .put("blob_a/000000-01", Bytes::from_static(b"ciphertext 0"))
            .await
            .unwrap();
        store
            .put("blob_a/000001-02", Bytes::from_static(b"ciphertext 1"))
            .await
            .unwrap();
        store
            .put("blob_b/000000-03", Bytes::from_static(b"other"))
            .await
            .unwrap();
        let read = store.get("blob_a/000001-02").await.unwrap();
        assert_eq!(&read[..], b"ciphertext 1");
        assert_eq!(store.delete_blob("blob_a").await.unwrap(), 2);
        assert!(!dir.path().join("blobs/blob_a").exists());
        assert!(dir.path().join("blobs/blob_b/000000-03").is_file());
        store.delete("blob_b/000000-03").await.unwrap();
        store.delete("blob_b/000000-03").await.unwrap();
        assert!(store.get("blob_b/000000-03").await.is_err());
    }
}
