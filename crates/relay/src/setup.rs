//! The relay's one-time clinic setup code: written to the data directory at
//! first start, turned into the clinic inbox account by `POST /v1/clinic/setup`.

use std::path::Path;

use sqlx::AnyPool;

use crate::error::StartError;
use crate::secrets;

/// The file the setup code is written to.
pub const SETUP_CODE_FILE: &str = "clinic-setup-code";

/// Writes a fresh setup code unless a clinic exists or an unused code does.
pub async fn ensure_setup_code(db: &AnyPool, data: &Path) -> Result<(), StartError> {
    let path = data.join(SETUP_CODE_FILE);
    let crate::store::setup::Status {
        clinics,
        unused_codes: unused,
    } = crate::store::setup::status(db)
        .await
        .map_err(|source| StartError::Database {
            what: "the clinic setup code".into(),
            source,
        })?;
    if clinics > 0 || (unused > 0 && path.exists()) {
        // A code file left by an older relay is made the owner's only.
        return crate::files::restrict(&path)
            .map_err(|source| StartError::SetupCode { path, source });
    }
    let code = secrets::token().map_err(|_| StartError::SetupCode {
        path: path.clone(),
        source: std::io::Error::other("no randomness"),
    })?;
    crate::files::write_private(&path, code.as_bytes()).map_err(|source| {
        StartError::SetupCode {
            path: path.clone(),
            source,
        }
    })?;
    // One relay on SQLite: the new code replaces any other. Relays sharing
    // PostgreSQL each write their own file, and any one of the codes sets
    // up the clinic (which then voids the others).
    if crate::db::Backend::of(db) == crate::db::Backend::Sqlite {
        crate::store::setup::delete_unused(db)
            .await
            .map_err(|source| StartError::Database {
                what: "the clinic setup code".into(),
                source,
            })?;
    }
    crate::store::setup::insert(db, &secrets::hash(&code))
        .await
        .map_err(|source| StartError::Database {
            what: "the clinic setup code".into(),
            source,
        })?;
    tracing::info!(file = %path.display(), "no clinic yet: wrote a one-time clinic setup code");
    Ok(())
}
