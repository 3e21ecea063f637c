//! `ward-relay serve` as a real process: settings come from the TOML file,
//! then environment variables, then flags, and a bad one stops the relay at
//! start with a message naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ward_proto::auth::{ClinicInfo, SessionCreated};

/// Settings the tests do not set must not leak in from the environment.
const WARD_ENV: [&str; 17] = [
    "WARD_CONFIG",
    "WARD_LISTEN",
    "WARD_PUBLIC_ORIGIN",
    "WARD_DATA",
    "WARD_STATIC",
    "WARD_OFFICE_HOURS",
    "WARD_REPLY_TIME",
    "WARD_EMERGENCY_NOTICE",
    "WARD_MAX_ATTACHMENT_BYTES",
    "WARD_ATTACHMENT_QUOTA_BYTES",
    "WARD_ALLOWED_ATTACHMENT_TYPES",
    "WARD_BLOB_STORE",
    "WARD_UPLOAD_EXPIRY_HOURS",
    "WARD_UNATTACHED_BLOB_EXPIRY_DAYS",
    "WARD_SECRET_KEY_FILE",
    "WARD_TRUSTED_PROXIES",
    "RUST_LOG",
];

/// `ward-relay serve --dev` (no SMTP here) on a free port with `data`,
/// `extra` arguments and environment `env`.
fn serve(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward-relay"));
    for name in WARD_ENV {
        command.env_remove(name);
    }
    command
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn");
    command
}

/// A started relay process, stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` and reads the URL from its first line.
fn start(mut command: Command) -> (Running, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("ward-relay listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (running, url)
}

/// Sets up the clinic and reads `GET /v1/clinic` with its session.
async fn clinic_info(url: &str, data: &Path) -> ClinicInfo {
    let http = reqwest::Client::new();
    let setup_code =
        std::fs::read_to_string(data.join(ward_relay::setup::SETUP_CODE_FILE)).unwrap();
    let session: SessionCreated = http
        .post(format!("{url}/v1/clinic/setup"))
        .json(&serde_json::json!({"setup_code": setup_code, "display_name": "Riverside Clinic"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    http.get(format!("{url}/v1/clinic"))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn office_hours_reply_time_and_emergency_notice_come_from_toml_then_environment_then_flags() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let toml = work.path().join("ward.toml");
    std::fs::write(
        &toml,
        "office_hours = \"Monday to Friday, 8 am to 5 pm\"\nreply_time = \"within two business days\"\nemergency_notice = \"In an emergency, call 999.\"\n",
    )
    .unwrap();
    let toml = toml.to_str().unwrap();

    // The file alone.
    let (relay, url) = start(serve(&data, &["--config", toml], &[]));
    let info = clinic_info(&url, &data).await;
    assert_eq!(
        info.office_hours.as_deref(),
        Some("Monday to Friday, 8 am to 5 pm")
    );
    assert_eq!(info.reply_time, "within two business days");
    assert_eq!(info.emergency_notice, "In an emergency, call 999.");
    drop(relay);

    // The environment over the file, a flag over the environment.
    let data = work.path().join("data-2");
    let (_relay, url) = start(serve(
        &data,
        &[
            "--office-hours",
            "Every day, 7 am to 9 pm",
            "--emergency-notice",
            " In an emergency, call 112. ",
        ],
        &[
            ("WARD_CONFIG", toml),
            ("WARD_OFFICE_HOURS", "Weekdays only"),
            ("WARD_REPLY_TIME", " within four hours "),
            ("WARD_EMERGENCY_NOTICE", "In an emergency, call 000."),
        ],
    ));
    let info = clinic_info(&url, &data).await;
    assert_eq!(
        info.office_hours.as_deref(),
        Some("Every day, 7 am to 9 pm")
    );
    assert_eq!(info.reply_time, "within four hours");
    assert_eq!(info.emergency_notice, "In an emergency, call 112.");

    // The environment over the file, without a flag.
    let data = work.path().join("data-3");
    let (_relay, url) = start(serve(
        &data,
        &[],
        &[
            ("WARD_CONFIG", toml),
            ("WARD_EMERGENCY_NOTICE", "In an emergency, call 000."),
        ],
    ));
    let info = clinic_info(&url, &data).await;
    assert_eq!(info.reply_time, "within two business days");
    assert_eq!(info.emergency_notice, "In an emergency, call 000.");
}

#[tokio::test]
async fn unset_office_hours_reply_time_and_emergency_notice_take_their_defaults() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let (_relay, url) = start(serve(&data, &[], &[]));
    let info = clinic_info(&url, &data).await;
    assert_eq!(info.office_hours, None);
    assert_eq!(info.reply_time, "within one business day");
    assert_eq!(
        info.emergency_notice,
        "If this is an emergency, call 911. For a mental health crisis, call or text 988."
    );
}

#[test]
fn a_too_long_reply_time_stops_the_relay_at_start_naming_the_option() {
    let work = tempfile::tempdir().unwrap();
    let long = "x".repeat(201);
    let output = serve(work.path(), &[], &[("WARD_REPLY_TIME", &long)])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
    assert!(
        stderr.contains("ward-relay: configuration: reply_time is 201 characters long")
            && stderr.contains("at most 200"),
        "{stderr}"
    );

    let output = serve(
        work.path(),
        &["--office-hours", "Monday to Friday\n8 am to 5 pm"],
        &[],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("office_hours"), "{stderr}");

    let long = "x".repeat(301);
    let output = serve(work.path(), &[], &[("WARD_EMERGENCY_NOTICE", &long)])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("ward-relay: configuration: emergency_notice is 301 characters long")
            && stderr.contains("at most 300"),
        "{stderr}"
    );

    let output = serve(work.path(), &["--emergency-notice", "  "], &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("emergency_notice must not be empty"),
        "{stderr}"
    );
}

#[tokio::test]
async fn attachment_limits_come_from_toml_then_environment_then_flags() {
    let work = tempfile::tempdir().unwrap();
    let toml = work.path().join("ward.toml");
    let blobs = work.path().join("elsewhere");
    std::fs::write(
        &toml,
        format!(
            "max_attachment_bytes = 5000000\nallowed_attachment_types = [\"image/png\"]\nblob_store = \"file://{}\"\n",
            blobs.display()
        ),
    )
    .unwrap();
    let toml = toml.to_str().unwrap();

    let data = work.path().join("data");
    let (relay, url) = start(serve(&data, &["--config", toml], &[]));
    let info = clinic_info(&url, &data).await;
    assert_eq!(info.max_attachment_bytes, 5_000_000);
    assert_eq!(info.allowed_attachment_types, ["image/png"]);
    // The blob store is the configured directory, not DATA/blobs.
    assert!(blobs.is_dir());
    assert!(!data.join("blobs").exists());
    drop(relay);

    let data = work.path().join("data-2");
    let (_relay, url) = start(serve(
        &data,
        &["--max-attachment-bytes", "7000000"],
        &[
            ("WARD_CONFIG", toml),
            ("WARD_MAX_ATTACHMENT_BYTES", "6000000"),
            (
                "WARD_ALLOWED_ATTACHMENT_TYPES",
                "image/jpeg, application/pdf",
            ),
        ],
    ));
    let info = clinic_info(&url, &data).await;
    assert_eq!(info.max_attachment_bytes, 7_000_000);
    assert_eq!(
        info.allowed_attachment_types,
        ["image/jpeg", "application/pdf"]
    );
}

#[test]
fn a_bad_blob_store_or_attachment_type_stops_the_relay_at_start_naming_the_option() {
    let work = tempfile::tempdir().unwrap();
    let output = serve(
        work.path(),
        &["--blob-store", "ftp://files.example/ward"],
        &[],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
    assert!(
        stderr.contains("blob_store \"ftp://files.example/ward\"") && stderr.contains("s3://"),
        "{stderr}"
    );

    let output = serve(
        work.path(),
        &[],
        &[("WARD_ALLOWED_ATTACHMENT_TYPES", "image/jpeg,PDF")],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("allowed_attachment_types entry \"PDF\""),
        "{stderr}"
    );
}
