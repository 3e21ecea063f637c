//! `accounts` (and `caregiver_links`, made with a caregiver's account):
//! who exists, their role, name and contact, and how they can sign in.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::Role;

use crate::db::{Flag, Text};

/// An account to create.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    /// Its id.
    pub account_id: &'a str,
    /// Its role.
    pub kind: Role,
    /// Its name, as checked.
    pub display_name: &'a str,
    /// Where its one-time codes go (the clinic has none).
    pub contact: Option<&'a str>,
    /// When (Unix milliseconds).
    pub created_at: i64,
}

/// The clinic inbox account, as patients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clinic {
    /// Its id.
    pub account_id: String,
    /// Its name.
    pub display_name: String,
}

/// A patient's account with its contact, for the code sign-in's lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contactable {
    /// Its id.
    pub account_id: String,
    /// Its contact on file, as stored (the caller normalizes).
    pub contact: String,
}

/// Creates the clinic inbox account, inside the caller's transaction
/// (the one that uses the setup code).
pub async fn insert_clinic(
    conn: &mut AnyConnection,
    account_id: &str,
    display_name: &str,
    created_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (account_id, kind, display_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account_id)
    .bind(Text(Role::Clinic))
    .bind(display_name)
    .bind(created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Creates an enrolled account, inside the caller's transaction (the one
/// that uses its invite).
pub async fn insert(conn: &mut AnyConnection, account: NewAccount<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO accounts (account_id, kind, display_name, contact, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(account.account_id)
        .bind(Text(account.kind))
        .bind(account.display_name)
        .bind(account.contact)
        .bind(account.created_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Links caregiver `caregiver_id` (a new account from the patient's
/// invite, or one that already helps someone else) to `patient_id` from
/// `created_at`, for the default grant, inside the caller's transaction;
/// whether it was new (a link that exists, in force or ended, is left as
/// it is).
pub async fn link_caregiver(
    conn: &mut AnyConnection,
    patient_id: &str,
    caregiver_id: &str,
    created_at: i64,
) -> Result<bool, sqlx::Error> {
    let linked = sqlx::query(
        "INSERT INTO caregiver_links (patient_id, caregiver_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (patient_id, caregiver_id) DO NOTHING",
    )
    .bind(patient_id)
    .bind(caregiver_id)
    .bind(created_at)
    .bind(created_at.saturating_add(
        super::caregivers::DEFAULT_GRANT_MONTHS * super::caregivers::MONTH_MS,
    ))
    .execute(&mut *conn)
    .await?;
    Ok(linked.rows_affected() == 1)
}

/// The clinic inbox account (the first clinic, should there be more).
pub async fn clinic(db: &AnyPool) -> Result<Option<Clinic>, sqlx::Error> {
    sqlx::query("SELECT account_id, display_name FROM accounts WHERE kind = 'clinic' ORDER BY created_at LIMIT 1")
        .fetch_optional(db)
        .await?
        .map(|row| {
            Ok(Clinic {
                account_id: row.try_get("account_id")?,
                display_name: row.try_get("display_name")?,
            })
        })
        .transpose()
}

/// Whether `account_id` is a clinic (which signs in by account key).
pub async fn is_clinic(db: &AnyPool, account_id: &str) -> Result<bool, sqlx::Error> {
    let Flag(exists) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM accounts WHERE account_id = $1 AND kind = 'clinic'",
    )
    .bind(account_id)
    .fetch_one(db)
    .await?;
    Ok(exists)
}

/// Whether `account_id` is an account.
pub async fn exists(db: &AnyPool, account_id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT account_id FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

/// `account_id`'s name (the account must exist: the caller holds its session).
pub async fn display_name(db: &AnyPool, account_id: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT display_name FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await
}

/// `account_id`'s contact on file, if it has one (the account must exist).
pub async fn contact(db: &AnyPool, account_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT contact FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await
}

/// Every patient with a contact on file. Contacts are compared after
/// normalizing, which SQL cannot do the same way on both backends.
pub async fn contactable_patients(db: &AnyPool) -> Result<Vec<Contactable>, sqlx::Error> {
    sqlx::query(
        "SELECT account_id, contact FROM accounts WHERE kind = 'patient' AND contact IS NOT NULL",
    )
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Contactable {
            account_id: row.try_get("account_id")?,
            contact: row.try_get("contact")?,
        })
    })
    .collect()
}

/// `account_id`'s WebAuthn user handle, if it has one yet (the account
/// must exist).
pub async fn webauthn_user_id(
    db: &AnyPool,
    account_id: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT webauthn_user_id FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await
}

/// Gives `account_id` the user handle `handle` unless it has one already:
/// of two requests racing, the first one's handle stays.
pub async fn set_webauthn_user_id(
    db: &AnyPool,
    account_id: &str,
    handle: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET webauthn_user_id = $1 WHERE account_id = $2 AND webauthn_user_id IS NULL")
        .bind(handle)
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The account whose WebAuthn user handle is `handle`.
pub async fn by_webauthn_user_id(
    db: &AnyPool,
    handle: &[u8],
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM accounts WHERE webauthn_user_id = $1")
        .bind(handle)
        .fetch_optional(db)
        .await
}

/// The rule "the account `$account` names can sign in by itself" as SQL,
/// for `$account` an expression of the statement it goes into ("$1",
/// "l.caregiver_id"): a passkey, a confirmed authenticator app, or being
/// the clinic. One text, so that every statement asking it (the step-up
/// check, a first passkey's insert, a caregiver's standing) reads the same
/// rule.
macro_rules! can_sign_in {
    ($account:literal) => {
        concat!(
            "(EXISTS (SELECT 1 FROM passkeys WHERE account_id = ",
            $account,
            ") OR EXISTS (SELECT 1 FROM totp WHERE account_id = ",
            $account,
            " AND confirmed_at IS NOT NULL) OR EXISTS (SELECT 1 FROM accounts WHERE account_id = ",
            $account,
            " AND kind = 'clinic'))"
        )
    };
}
pub(crate) use can_sign_in;

/// Whether `account_id` can sign in by itself ([`can_sign_in`]). On the
/// pool, or inside a transaction that must see its own writes
/// (enrollment's).
pub async fn has_sign_in_method(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, Flag>(concat!("SELECT ", can_sign_in!("$1")))
            .bind(account_id)
            .fetch_one(db)
            .await?
            .0,
    )
}

/// Puts `account_id` on legal hold (`hold`) or releases it, inside the
/// caller's transaction; whether the account exists.
pub async fn set_legal_hold(
    conn: &mut AnyConnection,
    account_id: &str,
    hold: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query("UPDATE accounts SET legal_hold = $1 WHERE account_id = $2")
        .bind(i64::from(hold))
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Whether `account_id` is a patient's account.
pub async fn is_patient(db: &AnyPool, account_id: &str) -> Result<bool, sqlx::Error> {
    let Flag(patient) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM accounts WHERE account_id = $1 AND kind = 'patient'",
    )
    .bind(account_id)
    .fetch_one(db)
    .await?;
    Ok(patient)
}

/// `account_id`'s birth date as the clinic recorded it (`None`: none, or
/// no such account).
pub async fn birth_date(db: &AnyPool, account_id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT birth_date FROM accounts WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .flatten())
}

/// Records (or, with `None`, removes) patient `account_id`'s birth date;
/// whether there is such a patient.
pub async fn set_birth_date(
    db: &AnyPool,
    account_id: &str,
    birth_date: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE accounts SET birth_date = $2 WHERE account_id = $1 AND kind = 'patient'",
    )
    .bind(account_id)
    .bind(birth_date)
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}
