//! Secrets at rest (issue 12, §5): TOTP seeds sealed under the relay's
//! secret (never in the SQLite files), short codes stored as keyed hashes,
//! an older relay's database upgraded in place, a wrong secret refused,
//! data files the relay user's only, and no start without SMTP outside
//! development mode (the real binary).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use sqlx::Row;
use support::{Relay, totp_on, unix_now};
use totp_rs::TOTP;
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, EnrollVerifyRequest, SessionCreated,
};

/// Starts a code sign-in for `contact`: the login id and the code sent.
async fn code_login(relay: &Relay, contact: &str) -> (String, String) {
    let seen = relay.codes_for(contact).len();
    let started: CodeLoginStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/code/start",
            None,
            Some(&CodeLoginStart {
                contact: contact.into(),
            }),
            StatusCode::OK,
        )
        .await;
    (started.login_id, relay.next_code_for(contact, seen).await)
}

async fn enroll_start(relay: &Relay, invite_code: &str, contact: &str) -> (String, String) {
    let started = relay.start_enrollment(invite_code).await;
    (started.enrollment_id, relay.last_code_for(contact))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// The fallback sign-in (code, then TOTP) succeeds for `contact`.
async fn signs_in_with_totp(relay: &Relay, contact: &str, app: &TOTP, step: u64) -> String {
    let (login_id, code) = code_login(relay, contact).await;
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id,
                code,
                totp: app.generate(unix_now() + step * 30),
            }),
            StatusCode::OK,
        )
        .await;
    session.account_id
}

#[tokio::test]
async fn totp_seeds_are_sealed_and_never_in_the_database_files() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (seed, base32, app) = totp_on(&relay, &patient.token).await;

    // The seed opens for the relay's own checks: the fallback sign-in works.
    assert_eq!(
        signs_in_with_totp(&relay, "sam@example.com", &app, 1).await,
        patient.id
    );
    let bytes = relay.stored_bytes().await;
    assert!(!contains(&bytes, &seed), "the raw seed is in the database");
    assert!(
        !contains(&bytes, base32.as_bytes()),
        "the base32 seed is in the database"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret FROM totp WHERE account_id = $1")
        .bind(&patient.id)
        .fetch_one(&relay.db().await)
        .await
        .unwrap();
    // Version, 24-byte nonce, ciphertext, 16-byte tag.
    assert_eq!(stored.len(), 1 + 24 + seed.len() + 16);
}

#[tokio::test]
async fn short_codes_are_stored_as_keyed_hashes_not_sha256() {
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let _patient = relay.patient(&clinic, "sam@example.com").await;
    let invite = relay.invite(&clinic, "kim@example.com").await;
    let (enrollment_id, enroll_code) = enroll_start(&relay, &invite, "kim@example.com").await;
    let (login_id, login_code) = code_login(&relay, "sam@example.com").await;
    let db = relay.db().await;

    let invite_hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM invites")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(invite_hashes.len(), 2);
    assert!(!invite_hashes.contains(&sha256(&invite)), "invite code");
    let row =
        sqlx::query("SELECT code_hash, invite_hash FROM enrollments WHERE enrollment_id = $1")
            .bind(&enrollment_id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_ne!(row.get::<Vec<u8>, _>("code_hash"), sha256(&enroll_code));
    assert_ne!(row.get::<Vec<u8>, _>("invite_hash"), sha256(&invite));
    assert_eq!(row.get::<Vec<u8>, _>("code_hash").len(), 32);
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT code_hash FROM code_logins WHERE login_id = $1")
            .bind(&login_id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_ne!(stored, sha256(&login_code), "sign-in code");

    // And the codes still work.
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id,
                code: enroll_code,
            }),
            StatusCode::OK,
        )
        .await;
    assert!(session.account_id.starts_with("acc_"));
}

#[tokio::test]
async fn an_older_relays_plaintext_seeds_and_sha256_codes_are_upgraded_on_start() {
    if support::on_postgres() {
        // No relay wrote PostgreSQL before the relay secret: nothing to upgrade.
        eprintln!("SQLite only: older relays stored only SQLite files");
        return;
    }
    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (seed, base32, app) = totp_on(&relay, &patient.token).await;
    let invite = relay.invite(&clinic, "kim@example.com").await;
    let (enrollment_id, enroll_code) = enroll_start(&relay, &invite, "kim@example.com").await;
    let (login_id, login_code) = code_login(&relay, "sam@example.com").await;

    // Put the database back the way a relay before the secret wrote it.
    let keyed = |code: &str| relay.state.secret.code_hash(code);
    let db = relay.db().await;
    let mut tx = db.begin().await.unwrap();
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *tx)
        .await
        .unwrap();
    for (sql, new, old) in [
        (
            "UPDATE invites SET code_hash = $1 WHERE code_hash = $2",
            sha256(&invite),
            keyed(&invite),
        ),
        (
            "UPDATE enrollments SET invite_hash = $1 WHERE invite_hash = $2",
            sha256(&invite),
            keyed(&invite),
        ),
        (
            "UPDATE enrollments SET code_hash = $1 WHERE code_hash = $2",
            sha256(&enroll_code),
            keyed(&enroll_code),
        ),
        (
            "UPDATE code_logins SET code_hash = $1 WHERE code_hash = $2",
            sha256(&login_code),
            keyed(&login_code),
        ),
    ] {
        let done = sqlx::query(sql)
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1, "{sql}");
    }
    sqlx::query("UPDATE totp SET secret = $1 WHERE account_id = $2")
        .bind(&seed)
        .bind(&patient.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM relay_secret")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    relay.restart_with(|_| {}).await.unwrap();

    // Everything in flight still works, and nothing is left in the clear.
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id,
                code: enroll_code.clone(),
            }),
            StatusCode::OK,
        )
        .await;
    assert_ne!(session.account_id, patient.id);
    let session: SessionCreated = relay
        .expect(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id,
                code: login_code.clone(),
                totp: app.generate(unix_now() + 30),
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(session.account_id, patient.id);
    let db = relay.db().await;
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT code_hash FROM invites UNION ALL SELECT code_hash FROM enrollments
         UNION ALL SELECT invite_hash FROM enrollments UNION ALL SELECT code_hash FROM code_logins",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for code in [&invite, &enroll_code, &login_code] {
        assert!(!hashes.contains(&sha256(code)), "{code}");
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&db)
        .await
        .unwrap();
    let bytes = relay.stored_bytes().await;
    assert!(!contains(&bytes, &seed) && !contains(&bytes, base32.as_bytes()));
    // A second start changes nothing more: the seed still opens (the
    // replay guard set back, so the same app code may be used again).
    relay.restart_with(|_| {}).await.unwrap();
    sqlx::query("UPDATE totp SET last_step = 0")
        .execute(&relay.db().await)
        .await
        .unwrap();
    assert_eq!(
        signs_in_with_totp(&relay, "sam@example.com", &app, 1).await,
        patient.id
    );
}

#[tokio::test]
async fn the_secret_comes_from_a_key_file_and_another_one_is_refused() {
    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let (_, _, app) = totp_on(&relay, &patient.token).await;
    let created = relay
        .data
        .path()
        .join(ward_relay::relay_secret::SECRET_KEY_FILE);
    let original = std::fs::read(&created).unwrap();
    assert_eq!(original.len(), 32);

    // Another secret would lock every authenticator app out: no start.
    std::fs::write(&created, [9u8; 32]).unwrap();
    let error = relay.restart_with(|_| {}).await.unwrap_err().to_string();
    assert!(
        error.contains("not the one this database") && error.contains("Restore"),
        "{error}"
    );

    // The same secret from a configured file (hex) works, and the file in
    // the data directory is not needed.
    std::fs::remove_file(&created).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let configured = elsewhere.path().join("ward.key");
    let hex: String = original.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&configured, format!("{hex}\n")).unwrap();
    let path = configured.clone();
    relay
        .restart_with(move |config| config.secret_key_file = Some(path))
        .await
        .unwrap();
    assert!(!created.exists());
    assert_eq!(
        signs_in_with_totp(&relay, "sam@example.com", &app, 1).await,
        patient.id
    );

    // A configured file that is missing or not a key is an error naming it.
    for contents in [None, Some("not a key")] {
        let path = elsewhere.path().join("other.key");
        let _ = std::fs::remove_file(&path);
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        let named = path.clone();
        let error = relay
            .restart_with(move |config| config.secret_key_file = Some(named))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&*path.to_string_lossy()), "{error}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_readable_by_the_relay_user_only() {
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }
    /// Every file under `dir`, recursively.
    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    let mut relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let patient = relay.patient(&clinic, "sam@example.com").await;
    let _ = code_login(&relay, "sam@example.com").await;
    support::blobs::upload_file(
        &relay,
        &patient,
        &support::blobs::plaintext(1000),
        1 << 20,
        "labs.pdf",
    )
    .await;
    let data = relay.data.path().to_path_buf();
    let on_sqlite = relay.database_url.is_none();
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join(ward_relay::blobs::BLOB_DIR)), 0o700);
    let check = |data: &Path| {
        let mut all = Vec::new();
        files(data, &mut all);
        let names: Vec<String> = all
            .iter()
            .map(|p| p.strip_prefix(data).unwrap().display().to_string())
            .collect();
        let sqlite: &[&str] = if on_sqlite {
            &["ward.sqlite3", "ward.sqlite3-wal", "ward.sqlite3-shm"]
        } else {
            &[]
        };
        for expected in
            sqlite
                .iter()
                .chain(&["dev-outbox.log", "clinic-setup-code", "relay-secret.key"])
        {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(names.iter().any(|n| n.starts_with("blobs/")), "{names:?}");
        for file in &all {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    };
    check(&data);

    // Files an older relay left readable are tightened at the next start.
    for loose in ["dev-outbox.log", "clinic-setup-code"]
        .into_iter()
        .chain(on_sqlite.then_some("ward.sqlite3"))
    {
        std::fs::set_permissions(data.join(loose), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    relay.restart_with(|_| {}).await.unwrap();
    let _ = code_login(&relay, "sam@example.com").await;
    assert_eq!(mode(&data), 0o700);
    check(&data);
}

/// `ward-relay serve` with `args` on a free port and a fresh data directory,
/// every WARD_ setting cleared: whether it started (printed its address),
/// and what it said on stderr.
fn serve(data: &Path, args: &[&str]) -> (bool, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ward-relay"));
    for (name, _) in std::env::vars() {
        if name.starts_with("WARD_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started = line.starts_with("ward-relay listening on ");
    if started {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    let status = child.wait().unwrap();
    assert!(started || !status.success(), "exit 0 without starting");
    (started, stderr)
}

#[test]
fn without_smtp_the_relay_refuses_to_start_outside_development_mode() {
    let data = tempfile::tempdir().unwrap();
    let (started, stderr) = serve(data.path(), &[]);
    assert!(!started, "it started without SMTP: {stderr}");
    assert!(
        stderr.contains("[smtp]") && stderr.contains("--dev"),
        "{stderr}"
    );
    assert!(!data.path().join("dev-outbox.log").exists());

    // Development mode is explicit: the flag, or `dev = true`.
    let (started, stderr) = serve(data.path(), &["--dev"]);
    assert!(started, "{stderr}");
    let config = data.path().join("ward.toml");
    std::fs::write(&config, "dev = true\n").unwrap();
    let (started, stderr) = serve(data.path(), &["--config", config.to_str().unwrap()]);
    assert!(started, "{stderr}");
}
