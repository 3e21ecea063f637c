//! The clinic agent (`ward-relay clinic ...`), run as a real process against
//! a real relay: set up, invite, and answer a patient's encrypted message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use support::{NONE, Relay};
use ward_proto::Bytes;
use ward_proto::keys::BundleResponse;
use ward_proto::threads::{Category, MessagePage, PostMessageRequest};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::PublicBundle;
use ward_seal::payload::Payload;
use ward_seal::random::os_rng;

const PASSPHRASE: &str = "a long clinic passphrase";

async fn agent(relay: &Relay, key_file: &Path, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward-relay"));
    command
        .args(["clinic", "--relay", &relay.url, "--key-file"])
        .arg(key_file)
        .args(args)
        .env("WARD_CLINIC_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_agent_invites_a_patient_and_its_bot_answers_encrypted() {
    let relay = Relay::start().await;
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("clinic.key");
    let setup_file = relay.data.path().join(ward_relay::setup::SETUP_CODE_FILE);

    let (ok, out, err) = agent(
        &relay,
        &key_file,
        &[
            "init",
            "--name",
            "Riverside Clinic",
            "--setup-code-file",
            setup_file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("set up"), "{out}");
    // The key file holds no plaintext secret and opens only with the passphrase.
    let (ok, _, err) = {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ward-relay"));
        command
            .args(["clinic", "--relay", &relay.url, "--key-file"])
            .arg(&key_file)
            .arg("inbox")
            .env("WARD_CLINIC_PASSPHRASE", "not the passphrase at all");
        let output = command.output().unwrap();
        (
            output.status.success(),
            String::new(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    assert!(!ok && err.contains("wrong passphrase"), "{err}");

    let (ok, invite, err) = agent(
        &relay,
        &key_file,
        &["invite", "--name", "Sam", "--contact", "sam@example.com"],
    )
    .await;
    assert!(ok, "{err}");

    // The patient enrolls with the printed code.
    let patient = relay.enroll(invite.trim(), "sam@example.com").await;
    let p = Some(patient.token.as_str());

    // The patient starts a thread and sends an encrypted message.
    let clinic: ward_proto::auth::ClinicInfo = relay
        .expect(Method::GET, "/v1/clinic", p, NONE, StatusCode::OK)
        .await;
    let clinic_bundle: BundleResponse = relay
        .expect(
            Method::GET,
            &format!("/v1/keys/{}", clinic.account_id),
            p,
            NONE,
            StatusCode::OK,
        )
        .await;
    let clinic_bundle = PublicBundle::from_bytes(&clinic_bundle.bundle.0).unwrap();
    let (thread, key) = relay
        .thread_with_key(&patient, &clinic_bundle, Category::Refill)
        .await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    let header = Header {
        thread_id: thread.thread_id.clone(),
        epoch: 0,
        message_id: "m1".into(),
        sender_id: patient.id.clone(),
        sent_at_ms: 1,
    };
    let message = envelope::seal(
        &patient.keys,
        &key,
        header,
        &Payload::text("My inhaler is almost empty"),
        &mut os_rng(),
    )
    .unwrap();
    let response = relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            p,
            Some(&PostMessageRequest {
                envelope: Bytes(message.to_bytes()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // The clinic sees it decrypted; the bot answers it.
    let (ok, inbox, err) = agent(&relay, &key_file, &["inbox"]).await;
    assert!(
        ok && inbox.contains("unread 1") && inbox.contains("Sam"),
        "{inbox}{err}"
    );
    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(
        ok && read.contains("Sam: My inhaler is almost empty"),
        "{read}{err}"
    );
    // Reading marked it read, so the bot needs a new message to answer.
    let header = Header {
        thread_id: thread.thread_id.clone(),
        epoch: 0,
        message_id: "m2".into(),
        sender_id: patient.id.clone(),
        sent_at_ms: 2,
    };
    let second = envelope::seal(
        &patient.keys,
        &key,
        header,
        &Payload::text("Can I pick it up today?"),
        &mut os_rng(),
    )
    .unwrap();
    relay
        .call(
            Method::POST,
            &format!("{path}/messages"),
            p,
            Some(&PostMessageRequest {
                envelope: Bytes(second.to_bytes()),
            }),
        )
        .await;
    let (ok, _, err) = agent(&relay, &key_file, &["bot", "--once"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = agent(
        &relay,
        &key_file,
        &[
            "reply",
            &thread.thread_id,
            "Yes, after 2 pm.",
            "--quick-reply",
            "Thanks!",
        ],
    )
    .await;
    assert!(ok, "{err}");

    // The patient decrypts both clinic messages.
    let page: MessagePage = relay
        .expect(
            Method::GET,
            &format!("{path}/messages?after=2"),
            p,
            NONE,
            StatusCode::OK,
        )
        .await;
    let opened: Vec<Payload> = page
        .messages
        .iter()
        .map(|m| {
            Envelope::from_bytes(&m.envelope.0)
                .unwrap()
                .open(&key, &thread.thread_id, &clinic_bundle)
                .unwrap()
        })
        .collect();
    assert_eq!(opened.len(), 2);
    assert!(opened[0].text.contains("nurse"));
    assert_eq!(
        opened[0]
            .quick_reply_options
            .iter()
            .map(|o| o.label.as_str())
            .collect::<Vec<_>>(),
        ["Book an appointment", "Call me back"]
    );
    assert_eq!(opened[1].text, "Yes, after 2 pm.");
    assert_eq!(opened[1].quick_reply_options[0].label, "Thanks!");
}
