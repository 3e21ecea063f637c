//! The people who help a patient: `caregiver_links` (enrolled caregivers,
//! removed ones kept) and the patient's unused caregiver `invites`.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::caregivers::Relationship;

/// A caregiver invite not used yet.
#[derive(Debug, Clone)]
pub struct WaitingInvite {
    /// The invitee's name.
    pub display_name: String,
    /// Where their codes go.
    pub contact: String,
    /// When it was made (Unix milliseconds).
    pub created_at: i64,
    /// When it stops (or stopped) working (Unix milliseconds).
    pub expires_at: i64,
    /// How the invitee is related to the patient.
    pub relationship: Option<Relationship>,
    /// The clinic made it (a guardian), not the patient.
    pub by_clinic: bool,
}

/// A caregiver who enrolled from one of the patient's invites.
#[derive(Debug, Clone)]
pub struct Link {
    /// The caregiver's account.
    pub caregiver_id: String,
    /// Their name.
    pub display_name: String,
    /// Where their codes go.
    pub contact: String,
    /// When they were invited (Unix milliseconds).
    pub invited_at: i64,
    /// When they enrolled (Unix milliseconds).
    pub linked_at: i64,
    /// When the patient removed them (Unix milliseconds).
    pub revoked_at: Option<i64>,
    /// Whether they finished enrolling: a passkey or a confirmed
    /// authenticator app to sign in with.
    pub can_sign_in: bool,
    /// Whether they may send (else read only).
    pub can_send: bool,
    /// Whether every thread of the patient's is theirs to read, today's
    /// and later ones, except those kept "Only me" (else chosen ones).
    pub all_threads: bool,
    /// When their grant ends (Unix milliseconds).
    pub expires_at: i64,
    /// How they are related to the patient.
    pub relationship: Option<Relationship>,
    /// The clinic invited them (a guardian), not the patient.
    pub by_clinic: bool,
    /// When the patient agreed to them (a guardian of a patient 13 to 17).
    pub assented_at: Option<i64>,
}

/// A patient a caregiver helps.
#[derive(Debug, Clone)]
pub struct Helped {
    /// The patient's account.
    pub patient_id: String,
    /// Their name.
    pub display_name: String,
    /// Since when (Unix milliseconds).
    pub since: i64,
    /// Whether the caregiver may send for them.
    pub can_send: bool,
    /// Whether every thread of theirs (but "Only me" ones) is shared.
    pub all_threads: bool,
    /// When the caregiver's grant ends (Unix milliseconds).
    pub expires_at: i64,
    /// The patient's birth date, when the clinic recorded one.
    pub birth_date: Option<String>,
    /// The clinic invited the caregiver (a guardian), not the patient.
    pub by_clinic: bool,
    /// When the patient agreed to them.
    pub assented_at: Option<i64>,
}

/// Whether a guardian the clinic appointed still waits for the patient's
/// agreement at `now`: the patient is 13 to 17 and has not agreed.
pub fn awaits_assent(
    by_clinic: bool,
    assented_at: Option<i64>,
    birth_date: Option<&str>,
    now: i64,
) -> bool {
    by_clinic && assented_at.is_none() && crate::minors::is_teen(birth_date, now)
}

/// The relationship stored in `column` (`None`: not given); a name that is
/// none is an error, never a default.
fn relationship(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<Relationship>, sqlx::Error> {
    let Some(name) = row.try_get::<Option<String>, _>(column)? else {
        return Ok(None);
    };
    Relationship::ALL
        .into_iter()
        .find(|r| r.name() == name)
        .map(Some)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown relationship {name:?}").into()))
}

/// The most of each list served: a patient's invites are capped far below
/// this (`store::invites::Caps`), so it only bounds a damaged database.
const MOST: i64 = 200;

/// `patient_id`'s caregiver invites not used yet, expired ones included,
/// newest first.
pub async fn waiting_invites(
    db: &AnyPool,
    patient_id: &str,
) -> Result<Vec<WaitingInvite>, sqlx::Error> {
    sqlx::query(
        "SELECT display_name, contact, created_at, expires_at, relationship,
                CASE WHEN created_by = for_patient THEN 0 ELSE 1 END AS by_clinic
         FROM invites
         WHERE for_patient = $1 AND kind = 'caregiver' AND used_at IS NULL
         ORDER BY created_at DESC LIMIT $2",
    )
    .bind(patient_id)
    .bind(MOST)
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(WaitingInvite {
            display_name: row.try_get("display_name")?,
            contact: row.try_get("contact")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            relationship: relationship(row, "relationship")?,
            by_clinic: row.try_get::<crate::db::Flag, _>("by_clinic")?.0,
        })
    })
    .collect()
}

/// `patient_id`'s enrolled caregivers, removed ones included, newest
/// first.
pub async fn links(db: &AnyPool, patient_id: &str) -> Result<Vec<Link>, sqlx::Error> {
    sqlx::query(LINKS)
        .bind(patient_id)
        .bind(MOST)
        .fetch_all(db)
        .await?
        .iter()
        .map(link)
        .collect()
}

/// Whether link `l`'s caregiver enrolled from an invite the clinic made.
macro_rules! by_clinic {
    () => {
        "CASE WHEN EXISTS (SELECT 1 FROM invites i
                      WHERE i.for_patient = l.patient_id AND i.account_id = l.caregiver_id
                        AND i.created_by <> l.patient_id) THEN 1 ELSE 0 END"
    };
}

/// A patient's caregiver links, with each one's invite time and whether
/// they can sign in; the invite is found through `invites_by_patient`.
const LINKS: &str = concat!(
    "SELECT l.caregiver_id, a.display_name, COALESCE(a.contact, '') AS contact,
            COALESCE((SELECT MIN(i.created_at) FROM invites i
                      WHERE i.for_patient = l.patient_id AND i.account_id = l.caregiver_id),
                     l.created_at) AS invited_at,
            l.created_at, l.revoked_at, l.can_send, l.all_threads, l.expires_at, l.assented_at,
            (SELECT i.relationship FROM invites i
             WHERE i.for_patient = l.patient_id AND i.account_id = l.caregiver_id
             ORDER BY i.created_at LIMIT 1) AS relationship, ",
    by_clinic!(),
    " AS by_clinic, ",
    super::accounts::can_sign_in!("l.caregiver_id"),
    " AS can_sign_in
     FROM caregiver_links l JOIN accounts a ON a.account_id = l.caregiver_id
     WHERE l.patient_id = $1
     ORDER BY l.created_at DESC LIMIT $2"
);

fn link(row: &sqlx::any::AnyRow) -> Result<Link, sqlx::Error> {
    Ok(Link {
        caregiver_id: row.try_get("caregiver_id")?,
        display_name: row.try_get("display_name")?,
        contact: row.try_get("contact")?,
        invited_at: row.try_get("invited_at")?,
        linked_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        can_sign_in: row.try_get::<crate::db::Flag, _>("can_sign_in")?.0,
        can_send: row.try_get::<crate::db::Flag, _>("can_send")?.0,
        all_threads: row.try_get::<crate::db::Flag, _>("all_threads")?.0,
        expires_at: row.try_get("expires_at")?,
        relationship: relationship(row, "relationship")?,
        by_clinic: row.try_get::<crate::db::Flag, _>("by_clinic")?.0,
        assented_at: row.try_get("assented_at")?,
    })
}

/// The patients `caregiver_id` helps at `now` (not removed, not
/// expired), oldest link first.
pub async fn helped_by(
    db: &AnyPool,
    caregiver_id: &str,
    now: i64,
) -> Result<Vec<Helped>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT l.patient_id, a.display_name, l.created_at, l.can_send, l.all_threads,
                l.expires_at, a.birth_date, l.assented_at, ",
        by_clinic!(),
        " AS by_clinic
         FROM caregiver_links l JOIN accounts a ON a.account_id = l.patient_id
         WHERE l.caregiver_id = $1 AND l.revoked_at IS NULL AND l.expires_at > $3
         ORDER BY l.created_at LIMIT $2"
    ))
    .bind(caregiver_id)
    .bind(MOST)
    .bind(now)
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Helped {
            patient_id: row.try_get("patient_id")?,
            display_name: row.try_get("display_name")?,
            since: row.try_get("created_at")?,
            can_send: row.try_get::<crate::db::Flag, _>("can_send")?.0,
            all_threads: row.try_get::<crate::db::Flag, _>("all_threads")?.0,
            expires_at: row.try_get("expires_at")?,
            birth_date: row.try_get("birth_date")?,
            by_clinic: row.try_get::<crate::db::Flag, _>("by_clinic")?.0,
            assented_at: row.try_get("assented_at")?,
        })
    })
    .collect()
}

/// Whether caregiver `caregiver_id`, appointed by the clinic, waits for
/// `patient_id`'s agreement at `now` (see [`awaits_assent`]).
pub async fn waits_for_assent(
    db: &AnyPool,
    patient_id: &str,
    caregiver_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT a.birth_date, l.assented_at, ",
        by_clinic!(),
        " AS by_clinic
         FROM caregiver_links l JOIN accounts a ON a.account_id = l.patient_id
         WHERE l.patient_id = $1 AND l.caregiver_id = $2"
    ))
    .bind(patient_id)
    .bind(caregiver_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    Ok(awaits_assent(
        row.try_get::<crate::db::Flag, _>("by_clinic")?.0,
        row.try_get("assented_at")?,
        row.try_get::<Option<String>, _>("birth_date")?.as_deref(),
        now,
    ))
}

/// Records `patient_id`'s agreement to caregiver `caregiver_id` at `now`,
/// inside the caller's transaction; whether there is such a link still in
/// force (an agreement already given stays as it was).
pub async fn assent(
    conn: &mut AnyConnection,
    patient_id: &str,
    caregiver_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query(
        "UPDATE caregiver_links SET assented_at = COALESCE(assented_at, $3)
         WHERE patient_id = $1 AND caregiver_id = $2 AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(patient_id)
    .bind(caregiver_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(found.rows_affected() == 1)
}

/// A month of a caregiver grant: a twelfth of a Gregorian year.
pub const MONTH_MS: i64 = 2_629_746_000;
/// A new grant's length.
pub const DEFAULT_GRANT_MONTHS: i64 = 12;
/// The grant lengths a patient may choose; 18 months is the longest.
pub const GRANT_MONTHS: [i64; 4] = [3, 6, 12, 18];

/// What a patient lets one caregiver do, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The patient who gave it.
    pub patient_id: String,
    /// Whether the caregiver may send and attach (else read only).
    pub can_send: bool,
    /// Whether it covers every thread but "Only me" ones (else the
    /// threads the patient chose).
    pub all_threads: bool,
    /// When it ends (Unix milliseconds).
    pub expires_at: i64,
    /// When the patient removed the caregiver, or the caregiver left.
    pub revoked_at: Option<i64>,
}

impl Grant {
    /// Whether the caregiver may use it at `now`.
    pub fn active_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

fn grant(row: &sqlx::any::AnyRow) -> Result<Grant, sqlx::Error> {
    Ok(Grant {
        patient_id: row.try_get("patient_id")?,
        can_send: row.try_get::<crate::db::Flag, _>("can_send")?.0,
        all_threads: row.try_get::<crate::db::Flag, _>("all_threads")?.0,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// `caregiver_id`'s grant from the patient of `thread_id` (`None`: the
/// thread's patient never linked them).
pub async fn grant_in_thread(
    db: &AnyPool,
    thread_id: &str,
    caregiver_id: &str,
) -> Result<Option<Grant>, sqlx::Error> {
    sqlx::query(
        "SELECT l.patient_id, l.can_send, l.all_threads, l.expires_at, l.revoked_at
         FROM thread_members p
         JOIN caregiver_links l ON l.patient_id = p.account_id AND l.caregiver_id = $2
         WHERE p.thread_id = $1 AND p.role = 'patient'",
    )
    .bind(thread_id)
    .bind(caregiver_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(grant)
    .transpose()
}

/// What a patient changes in a grant; `None` leaves that part as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change {
    /// Whether the caregiver may send.
    pub can_send: Option<bool>,
    /// Whether every thread but "Only me" ones is theirs.
    pub all_threads: Option<bool>,
    /// When it ends (Unix milliseconds).
    pub expires_at: Option<i64>,
}

/// Changes a grant that was not ended. Whether there was one to change.
pub async fn change(
    db: &AnyPool,
    patient_id: &str,
    caregiver_id: &str,
    change: Change,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE caregiver_links SET can_send = COALESCE($3, can_send),
                all_threads = COALESCE($4, all_threads), expires_at = COALESCE($5, expires_at)
         WHERE patient_id = $1 AND caregiver_id = $2 AND revoked_at IS NULL",
    )
    .bind(patient_id)
    .bind(caregiver_id)
    .bind(change.can_send.map(i64::from))
    .bind(change.all_threads.map(i64::from))
    .bind(change.expires_at)
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Ends `caregiver_id`'s grant from `patient_id` at `now` (the patient
/// removed them, or they left), inside the caller's transaction: the
/// caregiver leaves every thread of the patient's, and those threads need
/// a new epoch sealed without them. The threads they left (`None`: no
/// grant to end).
pub async fn end(
    conn: &mut AnyConnection,
    patient_id: &str,
    caregiver_id: &str,
    now: i64,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let ended = sqlx::query(
        "UPDATE caregiver_links SET revoked_at = $3
         WHERE patient_id = $1 AND caregiver_id = $2 AND revoked_at IS NULL",
    )
    .bind(patient_id)
    .bind(caregiver_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if ended.rows_affected() == 0 {
        return Ok(None);
    }
    leave_threads(conn, patient_id, caregiver_id, now)
        .await
        .map(Some)
}

/// Takes `caregiver_id` out of every thread of `patient_id`'s at `at`, and
/// marks those threads as needing a new epoch; the threads.
async fn leave_threads(
    conn: &mut AnyConnection,
    patient_id: &str,
    caregiver_id: &str,
    at: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let threads: Vec<String> = sqlx::query_scalar(
        "UPDATE thread_members SET removed_at = $3
         WHERE account_id = $2 AND removed_at IS NULL AND thread_id IN
               (SELECT thread_id FROM thread_members WHERE account_id = $1 AND role = 'patient')
         RETURNING thread_id",
    )
    .bind(patient_id)
    .bind(caregiver_id)
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    for thread_id in &threads {
        sqlx::query("UPDATE threads SET needs_rekey = 1 WHERE thread_id = $1")
            .bind(thread_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(threads)
}

/// The most grants one sweep pass ends (the next pass takes the rest).
const ENDED_PER_PASS: i64 = 500;

/// The links whose grant has ended (by `$1`) while their caregiver is
/// still in a thread of the patient's.
const DUE: &str = "FROM caregiver_links l
     WHERE l.revoked_at IS NULL AND l.expires_at <= $1
       AND EXISTS (SELECT 1 FROM thread_members c
                   JOIN thread_members p ON p.thread_id = c.thread_id
                        AND p.account_id = l.patient_id AND p.role = 'patient'
                   WHERE c.account_id = l.caregiver_id AND c.removed_at IS NULL)";

/// A grant [`end_expired`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Whose threads.
    pub patient_id: String,
    /// Who can no longer read them.
    pub caregiver_id: String,
}

/// Takes caregivers whose grant ended by `now` out of their patient's
/// threads (as of the grant's end), each patient under their own write
/// lock; the grants it ended (one another relay ended first is not
/// among them). The grant itself stays, expired, so the patient can renew
/// it (and share threads again).
pub async fn end_expired(db: &AnyPool, now: i64) -> Result<Vec<Ended>, sqlx::Error> {
    let due = sqlx::query(&format!(
        "SELECT l.patient_id, l.caregiver_id, l.expires_at {DUE} LIMIT $2"
    ))
    .bind(now)
    .bind(ENDED_PER_PASS)
    .fetch_all(db)
    .await?;
    let mut ended = Vec::new();
    for row in &due {
        let patient_id: String = row.try_get("patient_id")?;
        let caregiver_id: String = row.try_get("caregiver_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let mut tx = crate::db::begin_write(db, &format!("caregivers:{patient_id}")).await?;
        let left = leave_threads(&mut tx, &patient_id, &caregiver_id, expires_at).await?;
        tx.commit().await?;
        if !left.is_empty() {
            ended.push(Ended {
                patient_id,
                caregiver_id,
            });
        }
    }
    Ok(ended)
}

/// When the next grant still reaching a thread ends (`None`: none does).
pub async fn next_end(db: &AnyPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT MIN(l.expires_at) {DUE}"))
        .bind(i64::MAX)
        .fetch_one(db)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Each link's invite is looked up through `invites_by_patient`, never
    /// by a scan of every invite the clinic ever made.
    #[tokio::test]
    async fn a_links_invite_is_found_by_the_patients_invite_index() {
        let (_data, db) = crate::store::query_plans::scratch().await;
        let explain = format!("EXPLAIN QUERY PLAN {LINKS}");
        let query = sqlx::query(&explain).bind("acc_x").bind(MOST);
        let plan = crate::store::query_plans::steps(&db, query).await;
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH i USING INDEX invites_by_patient")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN i")),
            "{plan:?}"
        );
    }
}
