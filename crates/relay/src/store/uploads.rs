//! `blobs` and `blob_parts` while an upload is open: creating it within the
//! quota, recording its parts, finalizing it. (Finalized blobs are in
//! [`super::blobs`].)

use sqlx::{AnyConnection, AnyPool, Row};

/// An unexpired upload (or blob) as its uploader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upload {
    /// The declared size in bytes.
    pub size: i64,
    /// The declared number of parts.
    pub part_count: i64,
    /// When it was finalized (`None`: still open).
    pub finalized_at: Option<i64>,
    /// When it expires (`None`: a message keeps it).
    pub expires_at: Option<i64>,
}

/// An upload to announce.
#[derive(Debug, Clone, Copy)]
pub struct NewUpload<'a> {
    /// Its id (the blob's, once finalized).
    pub upload_id: &'a str,
    /// Who uploads it.
    pub owner_id: &'a str,
    /// Its declared size in bytes.
    pub size: i64,
    /// Its declared number of parts.
    pub part_count: i64,
    /// When (Unix milliseconds).
    pub created_at: i64,
    /// When it expires unless finalized.
    pub expires_at: i64,
}

/// What an account's quota group holds, to say why an upload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes in unexpired uploads and blobs of the whole quota group.
    pub used: i64,
    /// The account's own unfinished uploads.
    pub open: i64,
}

/// An unexpired upload as a part is recorded against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// The declared size in bytes.
    pub size: i64,
    /// Whether it is finalized already (no part may change).
    pub finalized: bool,
}

/// A part to record.
#[derive(Debug, Clone, Copy)]
pub struct NewPart<'a> {
    /// Its upload.
    pub upload_id: &'a str,
    /// Its index, from 0.
    pub index: i64,
    /// Its size in bytes.
    pub size: i64,
    /// The stored object holding its bytes.
    pub object: &'a str,
    /// When (Unix milliseconds).
    pub stored_at: i64,
}

/// SQL: `owner_id` is in the quota group of the account bound to `$p`: the
/// patient (the account itself, or the patient who invited this caregiver)
/// and every caregiver that patient invited.
macro_rules! quota_group {
    ($p:literal) => {
        concat!(
            "owner_id IN (SELECT COALESCE((SELECT patient_id FROM caregiver_links WHERE caregiver_id = ",
            $p,
            " ORDER BY created_at LIMIT 1), ",
            $p,
            ") UNION SELECT caregiver_id FROM caregiver_links WHERE patient_id = COALESCE((SELECT patient_id FROM caregiver_links WHERE caregiver_id = ",
            $p,
            " ORDER BY created_at LIMIT 1), ",
            $p,
            "))"
        )
    };
}

/// `upload_id` if it is `owner_id`'s and unexpired at `now` (`None`: the
/// caller answers 404).
pub async fn mine(
    db: &AnyPool,
    upload_id: &str,
    owner_id: &str,
    now: i64,
) -> Result<Option<Upload>, sqlx::Error> {
    sqlx::query(
        "SELECT size, part_count, finalized_at, expires_at FROM blobs
         WHERE blob_id = $1 AND owner_id = $2 AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(upload_id)
    .bind(owner_id)
    .bind(now)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Upload {
            size: row.try_get("size")?,
            part_count: row.try_get("part_count")?,
            finalized_at: row.try_get("finalized_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Announces `upload` if its owner's quota group keeps within `quota`
/// bytes with it and the owner has fewer than `max_open` unfinished
/// uploads; whether it did. Checked and inserted in one write transaction
/// serialized per quota group (its patient): on PostgreSQL a lone
/// statement's sums would not see a parallel request's uncommitted
/// upload, and both would pass.
pub async fn create_within_quota(
    db: &AnyPool,
    upload: NewUpload<'_>,
    quota: i64,
    max_open: i64,
) -> Result<bool, sqlx::Error> {
    let patient: String = sqlx::query_scalar(
        "SELECT COALESCE((SELECT patient_id FROM caregiver_links WHERE caregiver_id = $1
                          ORDER BY created_at LIMIT 1), $1)",
    )
    .bind(upload.owner_id)
    .fetch_one(db)
    .await?;
    let mut tx = crate::db::begin_write(db, &format!("quota:{patient}")).await?;
    let inserted = sqlx::query(concat!(
        "INSERT INTO blobs (blob_id, owner_id, size, part_count, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE (SELECT COALESCE(SUM(size), 0) FROM blobs
                WHERE ",
        quota_group!("$2"),
        " AND (expires_at IS NULL OR expires_at > $5)) + $3 <= $7
           AND (SELECT COUNT(*) FROM blobs
                WHERE owner_id = $2 AND finalized_at IS NULL AND expires_at > $5) < $8"
    ))
    .bind(upload.upload_id)
    .bind(upload.owner_id)
    .bind(upload.size)
    .bind(upload.part_count)
    .bind(upload.created_at)
    .bind(upload.expires_at)
    .bind(quota)
    .bind(max_open)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.rows_affected() == 1)
}

/// What `account_id`'s quota group holds at `now`, and how many unfinished
/// uploads the account has.
pub async fn usage(db: &AnyPool, account_id: &str, now: i64) -> Result<Usage, sqlx::Error> {
    let (used, open): (i64, i64) = sqlx::query_as(concat!(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN finalized_at IS NULL AND owner_id = $1 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM blobs WHERE ",
        quota_group!("$1"),
        " AND (expires_at IS NULL OR expires_at > $2)"
    ))
    .bind(account_id)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(Usage { used, open })
}

/// `upload_id` if unexpired at `now`, inside the caller's write
/// transaction (the one recording a part).
pub async fn open(
    conn: &mut AnyConnection,
    upload_id: &str,
    now: i64,
) -> Result<Option<Open>, sqlx::Error> {
    sqlx::query(
        "SELECT size, finalized_at FROM blobs WHERE blob_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(upload_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| {
        Ok(Open {
            size: row.try_get("size")?,
            finalized: row.try_get::<Option<i64>, _>("finalized_at")?.is_some(),
        })
    })
    .transpose()
}

/// The bytes of `upload_id`'s parts other than part `index`: what a new
/// part `index` adds to. On the pool (an early check), or inside the
/// transaction recording the part.
pub async fn size_without_part(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    upload_id: &str,
    index: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blob_parts WHERE blob_id = $1 AND part_index <> $2",
    )
    .bind(upload_id)
    .bind(index)
    .fetch_one(db)
    .await
}

/// The stored object of `upload_id`'s part `index`, if it has one yet,
/// inside the caller's transaction (which then replaces it).
pub async fn part_object(
    conn: &mut AnyConnection,
    upload_id: &str,
    index: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT object FROM blob_parts WHERE blob_id = $1 AND part_index = $2")
        .bind(upload_id)
        .bind(index)
        .fetch_optional(&mut *conn)
        .await
}

/// Records `part`, replacing the part with its index (a retry), inside the
/// caller's transaction (the one that checked it fits).
pub async fn put_part(conn: &mut AnyConnection, part: NewPart<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blob_parts (blob_id, part_index, size, object, stored_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (blob_id, part_index) DO UPDATE
         SET size = excluded.size, object = excluded.object, stored_at = excluded.stored_at",
    )
    .bind(part.upload_id)
    .bind(part.index)
    .bind(part.size)
    .bind(part.object)
    .bind(part.stored_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The indexes of the parts of `upload_id` that arrived, in order.
pub async fn received(db: &AnyPool, upload_id: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT part_index FROM blob_parts WHERE blob_id = $1 ORDER BY part_index")
        .bind(upload_id)
        .fetch_all(db)
        .await
}

/// The bytes of all of `upload_id`'s parts.
pub async fn size_of_parts(db: &AnyPool, upload_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blob_parts WHERE blob_id = $1",
    )
    .bind(upload_id)
    .fetch_one(db)
    .await
}

/// Makes `owner_id`'s open, unexpired upload `upload_id` a blob expiring at
/// `expires_at`, if every part is there and they add up to its size;
/// whether it did. One statement: a part arriving in parallel is either
/// counted or refused.
pub async fn finalize(
    db: &AnyPool,
    upload_id: &str,
    owner_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE blobs SET finalized_at = $1, expires_at = $2
         WHERE blob_id = $3 AND owner_id = $4 AND finalized_at IS NULL AND expires_at > $1
           AND part_count = (SELECT COUNT(*) FROM blob_parts WHERE blob_id = $3)
           AND size = (SELECT COALESCE(SUM(size), 0) FROM blob_parts WHERE blob_id = $3)",
    )
    .bind(now)
    .bind(expires_at)
    .bind(upload_id)
    .bind(owner_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
