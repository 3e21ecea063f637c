//! The people who help a patient: `caregiver_links` (enrolled caregivers,
//! removed ones kept) and the patient's unused caregiver `invites`.

use sqlx::{AnyPool, Row};

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
        "SELECT display_name, contact, created_at, expires_at FROM invites
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

/// A patient's caregiver links, with each one's invite time and whether
/// they can sign in; the invite is found through `invites_by_patient`.
const LINKS: &str = concat!(
    "SELECT l.caregiver_id, a.display_name, COALESCE(a.contact, '') AS contact,
            COALESCE((SELECT MIN(i.created_at) FROM invites i
                      WHERE i.for_patient = l.patient_id AND i.account_id = l.caregiver_id),
                     l.created_at) AS invited_at,
            l.created_at, l.revoked_at, ",
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
    })
}

/// The patients `caregiver_id` helps now (not removed), oldest link first.
pub async fn helped_by(db: &AnyPool, caregiver_id: &str) -> Result<Vec<Helped>, sqlx::Error> {
    sqlx::query(
        "SELECT l.patient_id, a.display_name, l.created_at
         FROM caregiver_links l JOIN accounts a ON a.account_id = l.patient_id
         WHERE l.caregiver_id = $1 AND l.revoked_at IS NULL
         ORDER BY l.created_at LIMIT $2",
    )
    .bind(caregiver_id)
    .bind(MOST)
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Helped {
            patient_id: row.try_get("patient_id")?,
            display_name: row.try_get("display_name")?,
            since: row.try_get("created_at")?,
        })
    })
    .collect()
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
