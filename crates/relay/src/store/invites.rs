//! `invites` and `enrollments`: the clinic's and patients' invites, found
//! by the keyed hash of their code, and the one-time codes that turn them
//! into accounts.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::Role;

use crate::db::Text;

/// An invite to store.
#[derive(Debug, Clone, Copy)]
pub struct NewInvite<'a> {
    /// Keyed hash of its code.
    pub code_hash: &'a [u8],
    /// Who made it.
    pub created_by: &'a str,
    /// The invitee's name, as checked.
    pub display_name: &'a str,
    /// Where the invitee's codes go, as checked.
    pub contact: &'a str,
    /// When (Unix milliseconds).
    pub created_at: i64,
    /// When it stops working (Unix milliseconds).
    pub expires_at: i64,
    /// The role the invitee gets.
    pub kind: Role,
    /// For a caregiver invite, the patient they will help (capped).
    pub for_patient: Option<&'a str>,
    /// For a caregiver invite, how they are related to the patient.
    pub relationship: Option<ward_proto::caregivers::Relationship>,
}

/// The caps on one patient's caregiver invites.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// At most this many unused and unexpired at once.
    pub pending: i64,
    /// At most this many made in `window_ms`.
    pub per_window: i64,
    /// The window of `per_window` (milliseconds).
    pub window_ms: i64,
}

/// Where one patient stands against [`Caps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Unused, unexpired invites.
    pub pending: i64,
    /// When the first of those expires.
    pub first_expiry: Option<i64>,
    /// Invites made in the window.
    pub recent: i64,
    /// When the first of those was made.
    pub first_recent: Option<i64>,
}

/// An unexpired invite, as enrollment starts from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// The invitee's name.
    pub display_name: String,
    /// Where the invitee's codes go.
    pub contact: String,
    /// When it was used, if it was (then it only resumes).
    pub used_at: Option<i64>,
    /// The account it made, if it was used.
    pub account_id: Option<String>,
    /// Whose budget of enrollment codes it spends: the patient a caregiver
    /// invite is for (whoever made it: the patient, or the clinic
    /// appointing a guardian), else who made it (the clinic).
    pub budget_of: String,
    /// The role the invitee gets.
    pub kind: Role,
}

/// An invite, as enrollment finishes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The invitee's name.
    pub display_name: String,
    /// Where the invitee's codes go.
    pub contact: String,
    /// The role the invitee gets.
    pub kind: Role,
    /// For a caregiver, the patient to link to.
    pub for_patient: Option<String>,
    /// When it was used, if it was.
    pub used_at: Option<i64>,
    /// The account it made, if it was used.
    pub account_id: Option<String>,
}

/// Stores `invite` unless it is a caregiver invite over its patient's
/// `caps`; whether it was stored. The count and the insert run inside the
/// caller's write transaction, begun under [`scope`] (serialized per
/// patient: on PostgreSQL a lone statement's subqueries would not see a
/// parallel request's uncommitted insert, and both would pass the cap),
/// with whatever the caller records of the invite. The clinic's patient
/// invites are not capped.
pub async fn insert_capped(
    conn: &mut AnyConnection,
    invite: NewInvite<'_>,
    caps: Caps,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO invites (code_hash, created_by, display_name, contact, created_at, expires_at, kind, for_patient, relationship)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $12
         WHERE $8 IS NULL
            OR ((SELECT COUNT(*) FROM invites
                 WHERE for_patient = $8 AND used_at IS NULL AND expires_at > $5) < $9
                AND (SELECT COUNT(*) FROM invites
                     WHERE for_patient = $8 AND created_at > $5 - $10) < $11)",
    )
    .bind(invite.code_hash)
    .bind(invite.created_by)
    .bind(invite.display_name)
    .bind(invite.contact)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .bind(Text(invite.kind))
    .bind(invite.for_patient)
    .bind(caps.pending)
    .bind(caps.window_ms)
    .bind(caps.per_window)
    .bind(invite.relationship.map(ward_proto::caregivers::Relationship::name))
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The write scope an invite for `patient` (or made by the clinic for a
/// new patient: the clinic's account) is inserted under, so two requests
/// cannot both pass the caps.
pub fn scope(patient: &str) -> String {
    format!("invites:{patient}")
}

/// Where `patient` stands against the caps at `now`, to say which one a
/// refused invite hit and when it frees up.
pub async fn standing(
    db: &AnyPool,
    patient: &str,
    now: i64,
    window_ms: i64,
) -> Result<Standing, sqlx::Error> {
    let (pending, first_expiry, recent, first_recent): (i64, Option<i64>, i64, Option<i64>) =
        sqlx::query_as(
            "SELECT
             (SELECT COUNT(*) FROM invites WHERE for_patient = $1 AND used_at IS NULL AND expires_at > $2),
             (SELECT MIN(expires_at) FROM invites WHERE for_patient = $1 AND used_at IS NULL AND expires_at > $2),
             (SELECT COUNT(*) FROM invites WHERE for_patient = $1 AND created_at > $2 - $3),
             (SELECT MIN(created_at) FROM invites WHERE for_patient = $1 AND created_at > $2 - $3)",
        )
        .bind(patient)
        .bind(now)
        .bind(window_ms)
        .fetch_one(db)
        .await?;
    Ok(Standing {
        pending,
        first_expiry,
        recent,
        first_recent,
    })
}

/// The unexpired invite whose code hashes to `code_hash`, used or not.
pub async fn live(db: &AnyPool, code_hash: &[u8], now: i64) -> Result<Option<Live>, sqlx::Error> {
    sqlx::query(
        "SELECT display_name, contact, used_at, account_id, COALESCE(for_patient, created_by) AS budget_of, kind
         FROM invites WHERE code_hash = $1 AND expires_at > $2",
    )
    .bind(code_hash)
    .bind(now)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Live {
            display_name: row.try_get("display_name")?,
            contact: row.try_get("contact")?,
            used_at: row.try_get("used_at")?,
            account_id: row.try_get("account_id")?,
            budget_of: row.try_get("budget_of")?,
            kind: row.try_get::<Text<Role>, _>("kind")?.0,
        })
    })
    .transpose()
}

/// The invite with `code_hash`, expired or not, inside the caller's
/// transaction (its enrollment code was just used up).
pub async fn get(
    conn: &mut AnyConnection,
    code_hash: &[u8],
) -> Result<Option<Invite>, sqlx::Error> {
    sqlx::query(
        "SELECT display_name, contact, kind, for_patient, used_at, account_id FROM invites WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| {
        Ok(Invite {
            display_name: row.try_get("display_name")?,
            contact: row.try_get("contact")?,
            kind: row.try_get::<Text<Role>, _>("kind")?.0,
            for_patient: row.try_get("for_patient")?,
            used_at: row.try_get("used_at")?,
            account_id: row.try_get("account_id")?,
        })
    })
    .transpose()
}

/// Marks the invite with `code_hash` used by `account_id`, inside the
/// caller's transaction (the one that created the account).
pub async fn mark_used(
    conn: &mut AnyConnection,
    code_hash: &[u8],
    account_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invites SET used_at = $1, account_id = $2 WHERE code_hash = $3")
        .bind(now)
        .bind(account_id)
        .bind(code_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What an enrollment holds for its code before one is sent: no typed
/// code's hash (32 bytes) equals it, so nothing verifies until then.
const NO_CODE_YET: &[u8] = &[];

/// Stores an enrollment for the invite `invite_hash`, with no code sent yet.
pub async fn insert_enrollment(
    db: &AnyPool,
    enrollment_id: &str,
    invite_hash: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO enrollments (enrollment_id, invite_hash, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(enrollment_id)
    .bind(invite_hash)
    .bind(NO_CODE_YET)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A live enrollment of the invite `invite_hash` that has had no code yet:
/// starting again reuses it, so starts alone cannot pile up rows.
pub async fn pending_enrollment(
    db: &AnyPool,
    invite_hash: &[u8],
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT enrollment_id FROM enrollments
         WHERE invite_hash = $1 AND used_at IS NULL AND expires_at > $2 AND length(code_hash) = 0
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(invite_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// The invite hash of a live enrollment (not used, not expired).
pub async fn live_enrollment(
    db: &AnyPool,
    enrollment_id: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT invite_hash FROM enrollments WHERE enrollment_id = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(enrollment_id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Gives a live enrollment a new code (the last one, if any, stops
/// working) with a fresh count of guesses, live until `expires_at`;
/// whether it was still live.
pub async fn set_enrollment_code(
    db: &AnyPool,
    enrollment_id: &str,
    code_hash: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE enrollments SET code_hash = $1, attempts = 0, expires_at = $2
         WHERE enrollment_id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(code_hash)
    .bind(expires_at)
    .bind(enrollment_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Counts a guess on a live enrollment with guesses left, atomically,
/// and returns its code's hash to compare with; `None` when there is no
/// such enrollment (nothing counted).
pub async fn count_guess(
    db: &AnyPool,
    enrollment_id: &str,
    now: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE enrollments SET attempts = attempts + 1
         WHERE enrollment_id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < 5
         RETURNING code_hash",
    )
    .bind(enrollment_id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses up the enrollment if `code_hash` is its code and it is live,
/// inside the caller's transaction; its invite's hash, if it was.
pub async fn consume_enrollment(
    conn: &mut AnyConnection,
    enrollment_id: &str,
    code_hash: &[u8],
    now: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE enrollments SET used_at = $1
         WHERE enrollment_id = $2 AND code_hash = $3 AND used_at IS NULL AND expires_at > $4
         RETURNING invite_hash",
    )
    .bind(now)
    .bind(enrollment_id)
    .bind(code_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
}

/// Deletes the enrollments that expired at or before `cutoff` (the sweep
/// keeps them a while for incident logs); how many.
pub async fn delete_expired_enrollments(db: &AnyPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM enrollments WHERE expires_at <= $1")
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
