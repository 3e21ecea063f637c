//! Errors: the ones that stop the relay from starting, and the one shape
//! every failed request answers with.

use std::borrow::Cow;
use std::path::PathBuf;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ward_proto::{ErrorBody, ErrorCode, ErrorDetail};

/// The relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error(
        "could not create the data directory {path}: {source}. Check that the parent exists and is writable, or pass another --data"
    )]
    DataDir {
        /// The directory that was asked for.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The database could not be opened or read at start.
    #[error(
        "could not use the database ({what}): {source}. Check the file's permissions or the server's address and credentials; if it is not a Ward database, move it away"
    )]
    Database {
        /// Which database, or what was being read (never a password).
        what: String,
        /// Why it failed.
        source: sqlx::Error,
    },
    /// `database_url` is not one this relay can use.
    #[error(
        "cannot use the database {0}: set database_url to postgres://USER:PASSWORD@HOST/DB, or leave it unset for the SQLite file in the data directory"
    )]
    DatabaseUrl(String),
    /// The database schema could not be brought up to date.
    #[error(
        "could not apply database migrations: {0}. The database may come from a newer Ward; restore a backup or run the newer relay"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The built web client could not be read.
    #[error(
        "could not read the web client's {path}: {source}. Build it first (`cargo xtask dev` does) or pass the right --static"
    )]
    Site {
        /// The file that was read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The public origin cannot carry passkeys.
    #[error("public_origin {origin:?} cannot be used for passkeys: {reason}")]
    Origin {
        /// The configured origin.
        origin: String,
        /// Why.
        reason: String,
    },
    /// The code sender is misconfigured.
    #[error("the one-time code sender is not usable: {0}")]
    Sender(String),
    /// No way to send one-time codes outside development mode.
    #[error(
        "no [smtp] server is configured, so one-time codes could not reach patients. Add an [smtp] section to the configuration file; for development only, pass --dev (or set dev = true) to write codes to DATA/dev-outbox.log instead"
    )]
    NoCodeSender,
    /// The relay's secret key could not be used.
    #[error("{0}")]
    Secret(crate::relay_secret::SecretError),
    /// A data file could not be made private to the relay's user.
    #[error(
        "could not make {path} readable by the relay's user only: {source}. Check that the relay's user owns the data directory"
    )]
    Permissions {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The attachment store could not be opened.
    #[error("the attachment store is not usable: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
    /// Web Push could not be set up (the VAPID key).
    #[error("{0}")]
    Push(crate::push::PushError),
    /// The clinic setup code could not be written.
    #[error("could not write the clinic setup code to {path}: {source}")]
    SetupCode {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A request that failed, as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: Cow<'static, str>,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    /// 400: the request is wrong in a way the message explains.
    pub fn bad_request(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 408 `body_timeout`: the request body did not arrive within
    /// `body_read_timeout_seconds` (the connection closes after this answer).
    pub fn body_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::BodyTimeout,
            "The request took too long to arrive, so the server stopped waiting. Check your connection and try again.",
        )
    }

    /// 401: no session, or it ended.
    pub fn not_signed_in() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotSignedIn,
            "You are not signed in, or your session ended. Sign in again.",
        )
    }

    /// 403: signed in, but this is not for this account.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// 403 with a specific code.
    pub fn forbidden_code(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404: also what a non-member gets for a thread that exists, so that
    /// existence does not leak.
    pub fn not_found(what: &'static str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("That {what} does not exist, or you do not have access to it."),
        )
    }

    /// 409: a compare-and-swap lost.
    pub fn conflict(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 429: too many failures; try again after `seconds`.
    pub fn locked_out(seconds: u64) -> Self {
        let minutes = seconds.div_ceil(60).max(1);
        Self {
            retry_after_seconds: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::LockedOut,
                format!(
                    "Too many wrong attempts. For your security, try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
            )
        }
    }

    /// The same error, with `Retry-After: seconds` (and `retry_after_seconds`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// 500, logged; the client learns nothing of the cause.
    pub fn internal(context: &'static str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, context, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "Something went wrong on our side. Nothing was lost; try again in a minute.",
        )
    }

    /// 503 `over_capacity`: the relay serves as many connections as it
    /// can; the client should retry after `seconds` (the connection closes).
    pub fn over_capacity(seconds: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::OverCapacity,
            "Ward is very busy right now. Try again in a few seconds.",
        )
        .retry_after(seconds)
    }

    /// The status (for tests and logs).
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl ApiError {
    /// A one-time code could not be sent: what the person can do about it.
    pub fn code_not_sent(error: &std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::Unsupported {
            return Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::CannotSendCode,
                "We cannot send a code to the contact on file (codes go by e-mail). Ask your clinic to update your contact.",
            );
        }
        tracing::error!(%error, "one-time code not sent");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::CodeNotSent,
            "We could not send your code just now. Try again in a few minutes.",
        )
    }
}

impl From<crate::push::SubscriptionError> for ApiError {
    fn from(error: crate::push::SubscriptionError) -> Self {
        Self::bad_request(ErrorCode::InvalidPushSubscription, error.to_string())
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(error: crate::blobs::BlobError) -> Self {
        Self::internal("blob store", &error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if unreachable_database(&error) {
            tracing::warn!(%error, "the database is unreachable; request refused as retryable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
                "Ward cannot reach its storage for a moment. Nothing was changed; try again in a few seconds.",
            )
            .retry_after(2);
        }
        if storage_full(&error) {
            tracing::error!(%error, "the database's disk is full; request refused");
            return Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::StorageFull,
                "Ward's storage is full, so this was not saved. Nothing already saved was lost; try again later.",
            )
            .retry_after(60);
        }
        Self::internal("database", &error)
    }
}

/// The database is away (a PostgreSQL restart, a dropped connection, an
/// exhausted pool): the request changed nothing and may be retried.
fn unreachable_database(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08…) and operator
        // intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03
        // cannot connect now).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// The disk under the database is full: SQLite's `SQLITE_FULL` (13),
/// PostgreSQL's `disk_full` (53100).
fn storage_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code == "13" || code == "53100"),
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.into_owned(),
                retry_after_seconds: self.retry_after_seconds,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use ward_proto::ErrorCode;

    /// Every `ErrorCode::Name` written in the relay's sources under `dir`
    /// (the clinic agent, a client, is left out).
    fn codes_named_under(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "clinic") {
                    codes_named_under(&path, found);
                }
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            // Code, not comments; and not this scanner's own pattern string.
            for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (at, prefix) in line.match_indices("ErrorCode::") {
                    let name: String = line[at + prefix.len()..]
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            }
        }
    }

    /// The codes the relay can send are exactly the enum's: no variant is
    /// dead (documented to clients but never sent), and, since a code is
    /// an `ErrorCode`, none is sent that the enum does not list.
    #[test]
    fn the_relay_sends_every_code_of_the_enum() {
        let mut named = BTreeSet::new();
        codes_named_under(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut named,
        );
        // `ALL` and the never-sent `Unknown` are named by this test only.
        named.remove("ALL");
        named.remove("Unknown");
        let all: BTreeSet<String> = ErrorCode::ALL.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(named, all);
    }

    /// A database that is away answers 503 `storage_unavailable` with a
    /// retry time; other database failures stay a plain 500.
    #[test]
    fn an_unreachable_database_is_a_retryable_refusal() {
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            let api = super::ApiError::from(error);
            assert_eq!(api.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(api.code, ErrorCode::StorageUnavailable);
            assert!(api.retry_after_seconds.is_some());
        }
        let other = super::ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(other.code, ErrorCode::Internal);
    }
}
