//! One-time codes by e-mail: the relay speaks SMTP to a real (minimal)
//! SMTP server on a local port, and the message carries the code and
//! nothing about the clinic or the patient's care.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use ward_proto::ErrorCode;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use ward_proto::auth::{EnrollStarted, InviteCreated, SessionCreated};
use ward_relay::config::SmtpConfig;
use ward_relay::{AppState, Config};

/// Accepts mail (RFC 5321, no extensions) and keeps each DATA section.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mail = Arc::new(Mutex::new(Vec::new()));
    let inbox = mail.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 localhost test SMTP\r\n")
                    .await
                    .unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            inbox.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 localhost\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mail)
}

#[tokio::test]
async fn enrollment_codes_arrive_by_email() {
    let (port, mail) = smtp_server().await;
    let data = tempfile::tempdir().unwrap();
    let state = AppState::open(Config {
        data: data.path().to_path_buf(),
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "Ward <no-reply@clinic.example>".into(),
            starttls: false,
            username: None,
            password_env: None,
        }),
        ..Config::default()
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(ward_relay::serve(listener, state, std::future::pending()));
    let http = reqwest::Client::new();

    let setup =
        std::fs::read_to_string(data.path().join(ward_relay::setup::SETUP_CODE_FILE)).unwrap();
    let clinic: SessionCreated = http
        .post(format!("{base}/v1/clinic/setup"))
        .json(&serde_json::json!({"setup_code": setup, "display_name": "Riverside Clinic"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invite: InviteCreated = http
        .post(format!("{base}/v1/invites"))
        .bearer_auth(&clinic.token)
        .json(&serde_json::json!({"display_name": "Sam", "contact": "sam@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started: EnrollStarted = http
        .post(format!("{base}/v1/enroll/start"))
        .json(&serde_json::json!({"invite_code": invite.invite_code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Nothing is sent until the patient says the invite is theirs.
    assert!(
        mail.lock().unwrap().is_empty(),
        "no code before the confirmation"
    );
    let sent = http
        .post(format!("{base}/v1/enroll/code"))
        .json(&serde_json::json!({"enrollment_id": started.enrollment_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), reqwest::StatusCode::NO_CONTENT);
    let message = mail
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("a message was sent");
    assert!(message.contains("To: sam@example.com"), "{message}");
    assert!(message.contains("Subject: Your Ward code"), "{message}");
    assert!(
        !message.contains("Riverside"),
        "no clinic name in mail: {message}"
    );
    let code: String = message
        .split_whitespace()
        .find(|word| {
            word.trim_end_matches('.').len() == 6
                && word
                    .trim_end_matches('.')
                    .chars()
                    .all(|c| c.is_ascii_digit())
        })
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    let session = http
        .post(format!("{base}/v1/enroll/verify"))
        .json(&serde_json::json!({"enrollment_id": started.enrollment_id, "code": code}))
        .send()
        .await
        .unwrap();
    assert!(session.status().is_success());
    assert!(
        !data.path().join("dev-outbox.log").exists(),
        "no development sink with SMTP configured"
    );

    // A phone number cannot receive e-mail: the invite holder is told what to do.
    let invite: InviteCreated = http
        .post(format!("{base}/v1/invites"))
        .bearer_auth(&clinic.token)
        .json(&serde_json::json!({"display_name": "Ann", "contact": "+1 555 123 4567"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started: EnrollStarted = http
        .post(format!("{base}/v1/enroll/start"))
        .json(&serde_json::json!({"invite_code": invite.invite_code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = http
        .post(format!("{base}/v1/enroll/code"))
        .json(&serde_json::json!({"enrollment_id": started.enrollment_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let body: ward_proto::ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::CannotSendCode);
}
