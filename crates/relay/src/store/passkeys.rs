//! `passkeys` (each account's WebAuthn credentials, stored as
//! webauthn-rs's JSON) and `ceremonies` (a registration's or sign-in's
//! server-side state, single use).

use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::{Flag, Text};
use crate::passkeys::CeremonyKind;

/// A stored passkey with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its id in the API.
    pub passkey_id: String,
    /// webauthn-rs's `Passkey`, as JSON (the caller parses it).
    pub passkey: String,
}

/// A passkey as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its id in the API.
    pub passkey_id: String,
    /// Its owner's name for it.
    pub label: String,
    /// When it was added (Unix milliseconds).
    pub created_at: i64,
    /// When it last signed in (Unix milliseconds).
    pub last_used_at: Option<i64>,
}

/// A passkey to add.
#[derive(Debug, Clone, Copy)]
pub struct NewPasskey<'a> {
    /// Its id in the API.
    pub passkey_id: &'a str,
    /// Whose.
    pub account_id: &'a str,
    /// The authenticator's credential id (unique across accounts).
    pub credential_id: &'a [u8],
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: &'a str,
    /// Its owner's name for it.
    pub label: &'a str,
    /// When (Unix milliseconds).
    pub created_at: i64,
}

/// A ceremony taken for finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// The account it is for (none for a discoverable sign-in or a decoy).
    pub account_id: Option<String>,
    /// webauthn-rs's state, as JSON (the caller parses it).
    pub state: String,
}

/// `account_id`'s passkeys, oldest first.
pub async fn of_account(db: &AnyPool, account_id: &str) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query(
        "SELECT passkey_id, passkey FROM passkeys WHERE account_id = $1 ORDER BY created_at",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Stored {
            passkey_id: row.try_get("passkey_id")?,
            passkey: row.try_get("passkey")?,
        })
    })
    .collect()
}

/// `account_id`'s passkey with `credential_id`, if it has it.
pub async fn by_credential(
    db: &AnyPool,
    account_id: &str,
    credential_id: &[u8],
) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query(
        "SELECT passkey_id, passkey FROM passkeys WHERE account_id = $1 AND credential_id = $2",
    )
    .bind(account_id)
    .bind(credential_id)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Stored {
            passkey_id: row.try_get("passkey_id")?,
            passkey: row.try_get("passkey")?,
        })
    })
    .transpose()
}

/// Records a sign-in with `passkey_id`: its updated state (the signature
/// counter, for clone detection) and when.
pub async fn record_use(
    db: &AnyPool,
    passkey_id: &str,
    passkey: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE passkey_id = $3")
        .bind(passkey)
        .bind(now)
        .bind(passkey_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Adds `passkey` inside the caller's transaction, used now (creating it
/// took the person's fingerprint, face or screen lock), only if `recent` (the
/// session may step up) or the account cannot sign in by itself yet
/// ([`super::accounts::can_sign_in`], negated, in the same statement),
/// and only if its credential is new; whether it was added.
pub async fn add(
    conn: &mut AnyConnection,
    passkey: NewPasskey<'_>,
    recent: bool,
) -> Result<bool, sqlx::Error> {
    let stored = sqlx::query(concat!(
        "INSERT INTO passkeys (passkey_id, account_id, credential_id, passkey, label, created_at, last_used_at)
         SELECT $1, $2, $3, $4, $5, $6, $6
         WHERE $7 OR NOT ",
        super::accounts::can_sign_in!("$2"),
        " ON CONFLICT (credential_id) DO NOTHING"
    ))
    .bind(passkey.passkey_id)
    .bind(passkey.account_id)
    .bind(passkey.credential_id)
    .bind(passkey.passkey)
    .bind(passkey.label)
    .bind(passkey.created_at)
    .bind(recent)
    .execute(&mut *conn)
    .await?;
    Ok(stored.rows_affected() == 1)
}

/// Whether any account has a passkey with `credential_id`.
pub async fn credential_exists(db: &AnyPool, credential_id: &[u8]) -> Result<bool, sqlx::Error> {
    let Flag(exists) =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM passkeys WHERE credential_id = $1)")
            .bind(credential_id)
            .fetch_one(db)
            .await?;
    Ok(exists)
}

fn listed(row: &sqlx::any::AnyRow) -> Result<Listed, sqlx::Error> {
    Ok(Listed {
        passkey_id: row.try_get("passkey_id")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// `account_id`'s passkeys as listed, oldest first.
pub async fn list(db: &AnyPool, account_id: &str) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query(
        "SELECT passkey_id, label, created_at, last_used_at FROM passkeys WHERE account_id = $1 ORDER BY created_at",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(listed)
    .collect()
}

/// Renames `account_id`'s passkey `passkey_id`; the renamed passkey, or
/// `None` if the account has no such passkey.
pub async fn rename(
    db: &AnyPool,
    account_id: &str,
    passkey_id: &str,
    label: &str,
) -> Result<Option<Listed>, sqlx::Error> {
    sqlx::query(
        "UPDATE passkeys SET label = $1 WHERE passkey_id = $2 AND account_id = $3
         RETURNING passkey_id, label, created_at, last_used_at",
    )
    .bind(label)
    .bind(passkey_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(listed)
    .transpose()
}

/// Whether `account_id` has the passkey `passkey_id`.
pub async fn exists(db: &AnyPool, account_id: &str, passkey_id: &str) -> Result<bool, sqlx::Error> {
    let Flag(exists) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM passkeys WHERE passkey_id = $1 AND account_id = $2",
    )
    .bind(passkey_id)
    .bind(account_id)
    .fetch_one(db)
    .await?;
    Ok(exists)
}

/// Removes `account_id`'s passkey `passkey_id` unless it is the account's
/// last, inside the caller's transaction; its label, if it was removed.
/// One statement: two removals at once cannot leave the account with none.
pub async fn remove_unless_last(
    conn: &mut AnyConnection,
    account_id: &str,
    passkey_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM passkeys WHERE passkey_id = $1 AND account_id = $2
           AND (SELECT COUNT(*) FROM passkeys WHERE account_id = $2) > 1
         RETURNING label",
    )
    .bind(passkey_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Stores a ceremony's state until `expires_at`.
pub async fn save_ceremony(
    db: &AnyPool,
    ceremony_id: &str,
    kind: CeremonyKind,
    account_id: Option<&str>,
    state: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO ceremonies (ceremony_id, kind, account_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(ceremony_id)
        .bind(Text(kind))
        .bind(account_id)
        .bind(state)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// The kind of ceremony `ceremony_id`, if it exists (live or not).
pub async fn ceremony_kind(
    db: &AnyPool,
    ceremony_id: &str,
) -> Result<Option<CeremonyKind>, sqlx::Error> {
    let kind: Option<Text<CeremonyKind>> =
        sqlx::query_scalar("SELECT kind FROM ceremonies WHERE ceremony_id = $1")
            .bind(ceremony_id)
            .fetch_optional(db)
            .await?;
    Ok(kind.map(|Text(kind)| kind))
}

/// Deletes and returns the live ceremony `ceremony_id` of `kind`: single
/// use, in one statement.
pub async fn take_ceremony(
    db: &AnyPool,
    ceremony_id: &str,
    kind: CeremonyKind,
    now: i64,
) -> Result<Option<Ceremony>, sqlx::Error> {
    sqlx::query(
        "DELETE FROM ceremonies WHERE ceremony_id = $1 AND kind = $2 AND expires_at > $3 RETURNING account_id, state",
    )
    .bind(ceremony_id)
    .bind(Text(kind))
    .bind(now)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Ceremony {
            account_id: row.try_get("account_id")?,
            state: row.try_get("state")?,
        })
    })
    .transpose()
}

/// Deletes the ceremonies that expired at or before `now` (the sweep: a
/// used one was deleted when used); how many.
pub async fn delete_expired_ceremonies(db: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM ceremonies WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected())
}
