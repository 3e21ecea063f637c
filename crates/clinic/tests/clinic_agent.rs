//! The clinic agent (`ward-clinic ...`), run as a real process against
//! a real relay: set up, invite, answer a patient's encrypted message, type,
//! replace its keys, show how far the patient has read, watch the patient
//! type, write and read live, and send and save encrypted attachments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The relay's own test harness: a real relay in-process on a free port.
#[path = "../../relay/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use support::blobs::{post_with_attachments, upload_file};
use support::{Account, NONE, Relay, events};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use ward_clinic::{bot, read_state_line, receipt_line, typing_line};
use ward_proto::Bytes;
use ward_proto::auth::{ClinicInfo, KeyChallenge, SessionCreated};
use ward_proto::events::{Event, ReceiptKind, ReceiptRequest};
use ward_proto::keys::BundleResponse;
use ward_proto::threads::{
    Category, Member, MessagePage, PostMessageRequest, PutEpochRequest, Role, Thread,
};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::PublicBundle;
use ward_seal::payload::{Payload, QuickReplyChosen};
use ward_seal::random::os_rng;
use ward_seal::thread_key::{self, ThreadKey};

const PASSPHRASE: &str = "a long clinic passphrase";

async fn agent(relay: &Relay, key_file: &Path, args: &[&str]) -> (bool, String, String) {
    agent_at(&relay.url, key_file, args).await
}

/// Runs `ward-clinic` against the relay at `url`: success, stdout, stderr.
async fn agent_at(url: &str, key_file: &Path, args: &[&str]) -> (bool, String, String) {
    agent_with_input(url, key_file, args, "").await
}

/// The same, with `input` on the agent's standard input.
async fn agent_with_input(
    url: &str,
    key_file: &Path,
    args: &[&str],
    input: &str,
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward-clinic"));
    command
        .args(["--relay", url, "--key-file"])
        .arg(key_file)
        .args(args)
        .env("WARD_CLINIC_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let input = input.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
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
        let mut command = Command::new(env!("CARGO_BIN_EXE_ward-clinic"));
        command
            .args(["--relay", &relay.url, "--key-file"])
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
    let clinic: ward_proto::auth::ClinicInfo = relay.get_ok("/v1/clinic", p).await;
    let clinic_bundle: BundleResponse = relay
        .get_ok(&format!("/v1/keys/{}", clinic.account_id), p)
        .await;
    let clinic_bundle = PublicBundle::from_bytes(&clinic_bundle.bundle.0).unwrap();
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Refill).await;
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
                attachments: Vec::new(),
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
                attachments: Vec::new(),
            }),
        )
        .await;
    // The bot shows the patient "typing…" for a moment before it replies.
    let mut socket = events::connect(&relay, &patient.id, &patient.token).await;
    let ((ok, _, err), heard) = tokio::join!(
        agent(&relay, &key_file, &["bot", "--once"]),
        events_until_message(&mut socket)
    );
    assert!(ok, "{err}");
    let typed = heard
        .iter()
        .position(|(_, event)| {
            *event
                == Event::Typing {
                    thread_id: thread.thread_id.clone(),
                    account_id: clinic.account_id.clone(),
                }
        })
        .unwrap_or_else(|| panic!("no typing before the reply: {heard:?}"));
    let (replied_at, Event::Message { message, .. }) = heard.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(message.sender_id, clinic.account_id);
    let paused = replied_at.duration_since(heard[typed].0);
    assert!(
        paused >= Duration::from_secs(1) && paused < Duration::from_secs(10),
        "{paused:?}"
    );
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
    let page: MessagePage = relay.get_ok(&format!("{path}/messages?after=2"), p).await;
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
    // A refill thread: the bot asks what a nurse would, marked as a demo.
    let expected = bot::reply(&bot::Incoming {
        category: Category::Refill,
        sender_name: "Sam",
        text: "Can I pick it up today?",
        chosen: None,
        seed: 2,
    });
    assert_eq!(opened[0].text, expected.text);
    assert!(
        opened[0].text.starts_with("(Demo reply) ")
            && opened[0].text.contains("pharmacy")
            && opened[0].text.contains("2 business days"),
        "{}",
        opened[0].text
    );
    assert_eq!(opened[0].in_reply_to.as_deref(), Some("seq:2"));
    assert_eq!(
        opened[0]
            .quick_reply_options
            .iter()
            .map(|o| o.label.as_str())
            .collect::<Vec<_>>(),
        ["Same pharmacy", "Different pharmacy", "Call me back"]
    );
    assert_eq!(opened[1].text, "Yes, after 2 pm.");
    assert_eq!(opened[1].quick_reply_options[0].label, "Thanks!");
}

/// The events on `socket` up to and including the first new message, each
/// with when it came (waiting up to a minute for each: the agent is a
/// process of its own, started meanwhile).
async fn events_until_message(socket: &mut events::Socket) -> Vec<(Instant, Event)> {
    let mut heard = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("an event within a minute")
            .unwrap()
            .unwrap();
        if let WsMessage::Text(text) = frame {
            let event: Event = serde_json::from_str(&text).unwrap();
            let done = matches!(event, Event::Message { .. });
            heard.push((Instant::now(), event));
            if done {
                return heard;
            }
        }
    }
}

#[tokio::test]
async fn the_bot_answers_once_per_burst_and_each_quick_reply_for_what_it_is() {
    let (relay, _work, key_file, clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let p = Some(patient.token.as_str());
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Appointment).await;
    let path = format!("/v1/threads/{}", thread.thread_id);
    let opened = |page: &MessagePage| -> Vec<Payload> {
        page.messages
            .iter()
            .map(|m| {
                Envelope::from_bytes(&m.envelope.0)
                    .unwrap()
                    .open(&key, &thread.thread_id, &clinic_bundle)
                    .unwrap()
            })
            .collect()
    };

    // Two messages in a row get one answer, to the later one, and it heard
    // the red flag in the first.
    relay
        .send_ok(&patient, &key, &thread.thread_id, 0, "m1", "My chest hurts")
        .await;
    relay
        .send_ok(
            &patient,
            &key,
            &thread.thread_id,
            0,
            "m2",
            "Can I come in this week?",
        )
        .await;
    let (ok, _, err) = agent(&relay, &key_file, &["bot", "--once", "--no-delay"]).await;
    assert!(ok, "{err}");
    let page: MessagePage = relay.get_ok(&format!("{path}/messages?after=2"), p).await;
    assert_eq!(page.messages.len(), 1, "one answer for the two");
    assert_eq!(page.messages[0].sender_id, clinic_id);
    let answer = &opened(&page)[0];
    let expected = bot::reply(&bot::Incoming {
        category: Category::Appointment,
        sender_name: "Sam",
        text: "My chest hurts\nCan I come in this week?",
        chosen: None,
        seed: 2,
    });
    assert_eq!(answer.text, expected.text);
    assert!(answer.text.contains("call 911"), "{}", answer.text);
    assert_eq!(answer.in_reply_to.as_deref(), Some("seq:2"));
    let offers: Vec<String> = answer
        .quick_reply_options
        .iter()
        .map(|o| o.label.clone())
        .collect();
    assert_eq!(offers, expected.quick_replies);

    // Sam picks the first slot offered (its label as the text, as the app
    // sends it): the bot answers that choice.
    let offer_id = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .header()
        .message_id
        .clone();
    let mut choice = Payload::text(offers[0].clone());
    choice.quick_reply_chosen = Some(QuickReplyChosen {
        offer_message_id: offer_id,
        option_id: answer.quick_reply_options[0].id.clone(),
    });
    let response = relay
        .send_payload(&patient, &key, &thread.thread_id, 0, "m4", &choice)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (ok, _, err) = agent(&relay, &key_file, &["bot", "--once", "--no-delay"]).await;
    assert!(ok, "{err}");
    let page: MessagePage = relay.get_ok(&format!("{path}/messages?after=4"), p).await;
    let answer = &opened(&page)[0];
    let expected = bot::reply(&bot::Incoming {
        category: Category::Appointment,
        sender_name: "Sam",
        text: "",
        chosen: Some(&offers[0]),
        seed: 4,
    });
    assert_eq!(answer.text, expected.text);
    assert!(
        answer.text.contains("You're booked for") && answer.text.contains("demo"),
        "{}",
        answer.text
    );

    // A message the clinic's operator answered already is left alone.
    relay
        .send_ok(&patient, &key, &thread.thread_id, 0, "m6", "Thanks")
        .await;
    let (ok, _, err) = agent(
        &relay,
        &key_file,
        &["reply", &thread.thread_id, "See you then, Sam."],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, _, err) = agent(&relay, &key_file, &["bot", "--once", "--no-delay"]).await;
    assert!(ok, "{err}");
    let page: MessagePage = relay.get_ok(&format!("{path}/messages?after=6"), p).await;
    assert_eq!(opened(&page).len(), 1, "only the operator's reply");
    assert_eq!(opened(&page)[0].text, "See you then, Sam.");
}

/// The agent sets the clinic up in `key_file` and invites Sam, who enrolls;
/// the clinic's account id, and Sam.
async fn clinic_and_patient(relay: &Relay, key_file: &Path) -> (String, Account) {
    let setup_file = relay.data.path().join(ward_relay::setup::SETUP_CODE_FILE);
    let (ok, _, err) = agent(
        relay,
        key_file,
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
    let (ok, invite, err) = agent(
        relay,
        key_file,
        &["invite", "--name", "Sam", "--contact", "sam@example.com"],
    )
    .await;
    assert!(ok, "{err}");
    let patient = relay.enroll(invite.trim(), "sam@example.com").await;
    let clinic: ClinicInfo = relay.get_ok("/v1/clinic", Some(&patient.token)).await;
    (clinic.account_id, patient)
}

/// A fresh relay whose clinic the agent set up with its key file in a
/// temporary directory (kept while the directory lives), Sam enrolled, and
/// the clinic's bundle as Sam is served it: where the agent's thread tests
/// start, so each need not repeat the same five steps.
async fn agent_clinic() -> (
    Relay,
    tempfile::TempDir,
    PathBuf,
    String,
    Account,
    PublicBundle,
) {
    let relay = Relay::start().await;
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("clinic.key");
    let (clinic_id, patient) = clinic_and_patient(&relay, &key_file).await;
    let clinic_bundle =
        PublicBundle::from_bytes(&served_bundle(&relay, &patient, &clinic_id).await).unwrap();
    (relay, work, key_file, clinic_id, patient, clinic_bundle)
}

/// Sam starts a `category` thread with the agent's clinic, sealing its key
/// to the bundle Sam was served: the thread and its key.
async fn sam_starts(
    relay: &Relay,
    patient: &Account,
    clinic_bundle: &PublicBundle,
    category: Category,
) -> (Thread, ThreadKey) {
    relay
        .thread_with_key(patient, clinic_bundle, category)
        .await
}

/// The bundle the relay serves for `account_id`, as `patient` fetches it.
async fn served_bundle(relay: &Relay, patient: &Account, account_id: &str) -> Vec<u8> {
    let response: BundleResponse = relay
        .get_ok(&format!("/v1/keys/{account_id}"), Some(&patient.token))
        .await;
    assert_eq!(response.account_id, account_id);
    response.bundle.0
}

/// The file names in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn typing_reaches_the_patient_live() {
    let (relay, _work, key_file, clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, _) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let mut socket = events::connect(&relay, &patient.id, &patient.token).await;

    let (ok, out, err) = agent(&relay, &key_file, &["typing", &thread.thread_id]).await;
    assert!(ok, "{err}");
    assert_eq!(out, "", "typing prints nothing");
    assert_eq!(
        events::next(&mut socket).await,
        Event::Typing {
            thread_id: thread.thread_id.clone(),
            account_id: clinic_id,
        }
    );

    // A thread that does not exist: refused, with a message, and nothing sent.
    let (ok, out, err) = agent(&relay, &key_file, &["typing", "no-such-thread"]).await;
    assert!(
        !ok && out.is_empty() && err.contains("ward-clinic: "),
        "{err}"
    );
}

#[tokio::test]
async fn new_keys_publishes_fresh_keys_and_rewrites_the_key_file() {
    let relay = Relay::start().await;
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("clinic.key");
    let (clinic_id, patient) = clinic_and_patient(&relay, &key_file).await;
    let p = Some(patient.token.as_str());
    let old_bytes = served_bundle(&relay, &patient, &clinic_id).await;
    let old_bundle = PublicBundle::from_bytes(&old_bytes).unwrap();
    let old_file = std::fs::read(&key_file).unwrap();

    // A thread from before the change, epoch 0 sealed to the old keys.
    let (thread, key0) = relay
        .thread_with_key(&patient, &old_bundle, Category::Refill)
        .await;
    relay
        .send_ok(
            &patient,
            &key0,
            &thread.thread_id,
            0,
            "m1",
            "Before the change",
        )
        .await;

    let (ok, out, err) = agent(&relay, &key_file, &["new-keys"]).await;
    assert!(ok, "{err}");
    assert!(err.contains("can no longer be read"), "{err}");
    // Exactly one line: six groups of five digits.
    let printed = out.strip_suffix('\n').unwrap();
    let groups: Vec<&str> = printed.split(' ').collect();
    assert!(
        groups.len() == 6
            && groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit())),
        "{out:?}"
    );

    // The relay serves a different bundle for the same account, and the
    // printed safety number is the new bundle's, not the old one's.
    let new_bytes = served_bundle(&relay, &patient, &clinic_id).await;
    assert_ne!(new_bytes, old_bytes);
    let new_bundle = PublicBundle::from_bytes(&new_bytes).unwrap();
    assert_eq!(new_bundle.account_id(), clinic_id);
    assert_eq!(printed, new_bundle.safety_number().to_string());
    assert_eq!(
        printed,
        new_bundle
            .safety_number()
            .groups()
            .map(|g| format!("{g:05}"))
            .join(" ")
    );
    assert_ne!(printed, old_bundle.safety_number().to_string());

    // The key file now holds the new keys, under the same passphrase, still
    // private, with no temporary file left beside it.
    let new_file = std::fs::read(&key_file).unwrap();
    assert_ne!(new_file, old_file);
    let keys = ward_seal::keyfile::open(&new_file, PASSPHRASE).unwrap();
    assert_eq!(keys.bundle().to_bytes(), new_bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert_eq!(files_in(work.path()), ["clinic.key"]);

    // The agent signs in with the rewritten file.
    let (ok, inbox, err) = agent(&relay, &key_file, &["inbox"]).await;
    assert!(
        ok && inbox.contains(&thread.thread_id) && inbox.contains("unread 1"),
        "{inbox}{err}"
    );
    // What was sealed to the old keys stays closed to the new ones.
    let (ok, _, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(!ok && err.contains("earlier keys"), "{err}");

    // The patient continues the thread in epoch 1, sealed to the new keys:
    // the clinic replies in it, and the patient opens the reply.
    let key1 = ThreadKey::generate(&mut os_rng());
    let sealed = thread_key::seal_to_members(
        &key1,
        &thread.thread_id,
        1,
        &patient.keys,
        &[patient.keys.bundle().clone(), new_bundle.clone()],
        &mut os_rng(),
    )
    .unwrap();
    let path = format!("/v1/threads/{}", thread.thread_id);
    let response = relay
        .call(
            Method::POST,
            &format!("{path}/epochs"),
            p,
            Some(&PutEpochRequest {
                epoch: 1,
                sealed_keys: sealed.iter().map(|s| Bytes(s.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (ok, out, err) = agent(
        &relay,
        &key_file,
        &["reply", &thread.thread_id, "Same clinic, new keys."],
    )
    .await;
    assert!(ok && out.trim() == "sent as #2", "{out}{err}");
    let page: MessagePage = relay.get_ok(&format!("{path}/messages?after=1"), p).await;
    let reply = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&key1, &thread.thread_id, &new_bundle)
        .unwrap();
    assert_eq!(reply.text, "Same clinic, new keys.");

    // A new thread sealed to the new keys reads as usual.
    let (fresh, key) = relay
        .thread_with_key(&patient, &new_bundle, Category::Question)
        .await;
    relay
        .send_ok(
            &patient,
            &key,
            &fresh.thread_id,
            0,
            "m1",
            "After the change",
        )
        .await;
    let (ok, read, err) = agent(&relay, &key_file, &["read", &fresh.thread_id]).await;
    assert!(ok && read.contains(": After the change"), "{read}{err}");
    let seen: Thread = relay
        .get_ok(&format!("/v1/threads/{}", fresh.thread_id), p)
        .await;
    assert!(
        seen.members
            .iter()
            .any(|m| m.account_id == clinic_id && m.read_up_to == 1)
    );
}

#[tokio::test]
async fn new_keys_keeps_the_old_key_file_when_the_relay_refuses_the_bundle() {
    let relay = Relay::start().await;
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("clinic.key");
    let (clinic_id, patient) = clinic_and_patient(&relay, &key_file).await;
    let old_bytes = served_bundle(&relay, &patient, &clinic_id).await;
    let old_file = std::fs::read(&key_file).unwrap();

    // A relay that signs anyone in but refuses every bundle.
    let refusing = axum::Router::new()
        .route(
            "/v1/auth/key/challenge",
            axum::routing::post(|| async {
                axum::Json(KeyChallenge {
                    challenge_id: "challenge".into(),
                    challenge: Bytes(vec![7; 32]),
                })
            }),
        )
        .route(
            "/v1/auth/key/login",
            axum::routing::post(|| async {
                axum::Json(SessionCreated {
                    account_id: "anyone".into(),
                    token: "token".into(),
                    expires_at: 0,
                })
            }),
        )
        .route(
            "/v1/keys/me",
            axum::routing::put(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, refusing).await });

    let (ok, out, err) = agent_at(&url, &key_file, &["new-keys"]).await;
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("did not take the new keys") && err.contains("unchanged"),
        "{err}"
    );
    // The old key file is untouched, nothing is left beside it, and it still
    // signs in to the real relay, which still serves the old bundle.
    assert_eq!(std::fs::read(&key_file).unwrap(), old_file);
    assert_eq!(files_in(work.path()), ["clinic.key"]);
    let (ok, _, err) = agent(&relay, &key_file, &["inbox"]).await;
    assert!(ok, "{err}");
    assert_eq!(served_bundle(&relay, &patient, &clinic_id).await, old_bytes);
}

#[tokio::test]
async fn reply_dash_sends_each_line_of_standard_input_in_order() {
    let (relay, _work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    relay
        .send_ok(&patient, &key, &thread.thread_id, 0, "m1", "Any news?")
        .await;
    let (ok, sent, err) = agent_with_input(
        &relay.url,
        &key_file,
        &["reply", &thread.thread_id, "-"],
        "First of a batch\n\nSecond of a batch\n",
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        sent.lines().collect::<Vec<_>>(),
        ["sent as #2", "sent as #3"],
        "blank lines are skipped"
    );
    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(ok, "{err}");
    assert_eq!(
        read.lines().take(3).collect::<Vec<_>>(),
        [
            "#1 Sam: Any news?",
            "#2 Riverside Clinic: First of a batch",
            "#3 Riverside Clinic: Second of a batch",
        ],
        "{read}"
    );
}

/// `reply -` sends each line as soon as it is read, not when standard
/// input ends: a program writing to the pipe sees each reply stored before
/// it writes the next line.
#[tokio::test]
async fn reply_dash_sends_each_line_as_soon_as_it_is_read() {
    let (relay, _work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (thread, _key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward-clinic"))
        .args(["--relay", &relay.url, "--key-file"])
        .arg(&key_file)
        .args(["reply", &thread.thread_id, "-"])
        .env("WARD_CLINIC_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stored = || async {
        relay
            .http
            .get(format!(
                "{}/v1/threads/{}/messages?after=0",
                relay.url, thread.thread_id
            ))
            .bearer_auth(&patient.token)
            .send()
            .await
            .unwrap()
            .json::<MessagePage>()
            .await
            .unwrap()
            .messages
            .len()
    };
    std::io::Write::write_all(&mut stdin, b"Sent while the pipe is still open\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while stored().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first line was not sent while standard input stayed open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::io::Write::write_all(&mut stdin, b"And this one after it\n").unwrap();
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ["sent as #1", "sent as #2"]
    );
    assert_eq!(stored().await, 2);
}

#[tokio::test]
async fn read_shows_how_far_the_patient_has_read() {
    let (relay, _work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    relay
        .send_ok(
            &patient,
            &key,
            &thread.thread_id,
            0,
            "m1",
            "Are my results in?",
        )
        .await;
    let (ok, sent, err) = agent(
        &relay,
        &key_file,
        &["reply", &thread.thread_id, "Yes, all normal."],
    )
    .await;
    assert!(ok && sent.trim() == "sent as #2", "{sent}{err}");

    // Before any receipt from Sam: the messages as before, then Sam's state.
    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(ok, "{err}");
    assert_eq!(
        read.lines().collect::<Vec<_>>(),
        [
            "#1 Sam: Are my results in?",
            "#2 Riverside Clinic: Yes, all normal.",
            "Sam has not read anything yet",
        ],
        "{read}"
    );

    // Sam's app reports the clinic's reply read.
    let response = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/receipts", thread.thread_id),
            Some(&patient.token),
            Some(&ReceiptRequest {
                kind: ReceiptKind::Read,
                up_to_seq: 2,
            }),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());

    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = read.lines().collect();
    assert_eq!(lines.len(), 3, "{read}");
    assert_eq!(lines[1], "#2 Riverside Clinic: Yes, all normal.");
    let last = lines[2];
    assert!(
        last.starts_with("read by Sam up to #2 at ") && last.ends_with(" UTC"),
        "{read}"
    );
    let clock = &last["read by Sam up to #2 at ".len()..last.len() - " UTC".len()];
    assert!(
        clock.len() == 5
            && clock.as_bytes()[2] == b':'
            && clock.bytes().filter(u8::is_ascii_digit).count() == 4,
        "{read}"
    );
}

/// `ward-clinic watch ARGS...` running against `relay`: its stdout
/// and stderr lines as they come, and the process (to end it).
struct Watching {
    child: std::process::Child,
    stdout: tokio::sync::mpsc::UnboundedReceiver<String>,
    stderr: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Watching {
    /// Starts the watch and waits (up to 20 s) until it says it is listening.
    async fn start(relay: &Relay, key_file: &Path, args: &[&str]) -> Self {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward-clinic"))
            .args(["--relay", &relay.url, "--key-file"])
            .arg(key_file)
            .arg("watch")
            .args(args)
            .env("WARD_CLINIC_PASSPHRASE", PASSPHRASE)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = |pipe: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines() {
                    if tx.send(line.unwrap()).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        let mut watching = Self {
            child,
            stdout,
            stderr,
        };
        let said = watching.next_err().await;
        assert!(
            said.starts_with("ward-clinic: watching "),
            "not listening: {said}"
        );
        watching
    }

    /// The next stdout line, within 10 s (as printed: nothing waits for
    /// the process to end).
    async fn next_out(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.stdout.recv())
            .await
            .expect("a line from watch within 10 s")
            .expect("watch still running")
    }

    async fn next_err(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(20), self.stderr.recv())
            .await
            .expect("a line on stderr within 20 s")
            .expect("watch still running")
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `account` reports a receipt in the thread at `path`.
async fn receipt(
    relay: &Relay,
    account: &Account,
    path: &str,
    kind: ReceiptKind,
    up_to_seq: u64,
) -> reqwest::Response {
    relay
        .call(
            Method::POST,
            &format!("{path}/receipts"),
            Some(&account.token),
            Some(&ReceiptRequest { kind, up_to_seq }),
        )
        .await
}

#[tokio::test]
async fn watch_prints_the_patient_typing_their_messages_and_receipts_live() {
    let (relay, _work, key_file, clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let p = Some(patient.token.as_str());
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let (other, _) = sam_starts(&relay, &patient, &clinic_bundle, Category::Billing).await;
    let path = format!("/v1/threads/{}", thread.thread_id);

    let mut watch =
        Watching::start(&relay, &key_file, &[&thread.thread_id, "--seconds", "60"]).await;

    // Typing in another thread is not this watch's; then in this one.
    for typing_in in [&other.thread_id, &thread.thread_id] {
        let response = relay
            .call(
                Method::POST,
                &format!("/v1/threads/{typing_in}/typing"),
                p,
                NONE,
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        watch.next_out().await,
        format!("Sam is typing in {}", thread.thread_id)
    );

    // The patient's message, decrypted, as `read` prints it.
    relay
        .send_ok(
            &patient,
            &key,
            &thread.thread_id,
            0,
            "m1",
            "Is the lab open on Saturday?",
        )
        .await;
    assert_eq!(
        watch.next_out().await,
        "#1 Sam: Is the lab open on Saturday?"
    );

    // Receipts; and the clinic's own reply (from another agent process),
    // quick reply included.
    assert!(
        receipt(&relay, &patient, &path, ReceiptKind::Delivered, 1)
            .await
            .status()
            .is_success()
    );
    assert_eq!(watch.next_out().await, "delivered to Sam up to #1");
    let (ok, sent, err) = agent(
        &relay,
        &key_file,
        &[
            "reply",
            &thread.thread_id,
            "Yes, 8 to noon.",
            "--quick-reply",
            "Thanks!",
        ],
    )
    .await;
    assert!(ok && sent.trim() == "sent as #2", "{sent}{err}");
    assert_eq!(
        watch.next_out().await,
        "#2 Riverside Clinic: Yes, 8 to noon."
    );
    assert_eq!(watch.next_out().await, "    [q1] Thanks!");
    assert!(
        receipt(&relay, &patient, &path, ReceiptKind::Read, 2)
            .await
            .status()
            .is_success()
    );
    assert_eq!(watch.next_out().await, "read by Sam up to #2");

    // Watching marked nothing read for the clinic.
    let seen: Thread = relay.get_ok(&path, p).await;
    let clinic_member = seen
        .members
        .iter()
        .find(|m| m.account_id == clinic_id)
        .unwrap();
    assert_eq!(
        (clinic_member.read_up_to, clinic_member.delivered_up_to),
        (0, 0)
    );

    // Nothing else was printed (the other thread's typing included).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), watch.stdout.recv())
            .await
            .is_err(),
        "an extra line"
    );
}

#[tokio::test]
async fn watch_without_a_thread_sees_every_thread_and_stops_after_its_seconds() {
    let (relay, _work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (first, _) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;

    let mut watch = Watching::start(&relay, &key_file, &["--seconds", "3"]).await;
    // A thread started after the watch began is seen too.
    let (second, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Refill).await;
    for thread_id in [&first.thread_id, &second.thread_id] {
        relay
            .call(
                Method::POST,
                &format!("/v1/threads/{thread_id}/typing"),
                Some(&patient.token),
                NONE,
            )
            .await;
        assert_eq!(
            watch.next_out().await,
            format!("Sam is typing in {thread_id}")
        );
    }
    relay
        .send_ok(&patient, &key, &second.thread_id, 0, "r1", "Refill, please")
        .await;
    assert_eq!(watch.next_out().await, "#1 Sam: Refill, please");

    // Then it ends by itself, successfully, with nothing more printed.
    let status = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = watch.child.try_wait().unwrap() {
                return (status, watch);
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "watch did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let (status, mut watch) = status.await.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(watch.stdout.recv().await, None);

    // A thread that is not the clinic's: refused before listening.
    let (ok, out, err) = agent(
        &relay,
        &key_file,
        &["watch", "no-such-thread", "--seconds", "1"],
    )
    .await;
    assert!(
        !ok && out.is_empty() && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn read_state_lines_name_the_member_the_sequence_and_the_utc_time() {
    let mut member = Member {
        account_id: "acct".into(),
        role: Role::Patient,
        display_name: "Sam".into(),
        delivered_up_to: 0,
        read_up_to: 0,
        read_at: None,
    };
    assert_eq!(read_state_line(&member), "Sam has not read anything yet");
    member.read_up_to = 7;
    assert_eq!(read_state_line(&member), "read by Sam up to #7");
    // 2026-01-01T09:05:30Z
    member.read_at = Some(1_767_258_330_000);
    assert_eq!(
        read_state_line(&member),
        "read by Sam up to #7 at 09:05 UTC"
    );
}

#[test]
fn watch_lines_name_the_member_the_thread_and_the_sequence() {
    assert_eq!(typing_line("Sam", "thr_1"), "Sam is typing in thr_1");
    assert_eq!(
        receipt_line(ReceiptKind::Read, "Sam", 4),
        "read by Sam up to #4"
    );
    assert_eq!(
        receipt_line(ReceiptKind::Delivered, "Sam", 3),
        "delivered to Sam up to #3"
    );
}

/// `ward-clinic read <thread> --save-attachments <dir>`: the agent's way
/// to fetch a thread's files, run again after each batch of attachments.
async fn read_saving_attachments(
    relay: &Relay,
    key_file: &Path,
    thread_id: &str,
    dir: &Path,
) -> (bool, String, String) {
    agent(
        relay,
        key_file,
        &[
            "read",
            thread_id,
            "--save-attachments",
            dir.to_str().unwrap(),
        ],
    )
    .await
}

/// `ward-clinic reply <thread> <text> --attach <file>`: the agent
/// sending a file, tried with a good file, standard input and a missing one.
async fn reply_attaching(
    relay: &Relay,
    key_file: &Path,
    thread_id: &str,
    text: &str,
    file: &Path,
) -> (bool, String, String) {
    agent(
        relay,
        key_file,
        &["reply", thread_id, text, "--attach", file.to_str().unwrap()],
    )
    .await
}

/// `len` bytes that differ from chunk to chunk.
fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ ((i >> 16) as u8) ^ seed)
        .collect()
}

#[tokio::test]
async fn the_agent_attaches_a_file_the_patient_downloads_and_decrypts_byte_identical() {
    let (relay, work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;

    // About 1.5 MB: 23 chunks, the last one odd, so two parts of 16 chunks.
    let file = file_bytes(1_500_001, 7);
    let path = work.path().join("Lab results.PDF");
    std::fs::write(&path, &file).unwrap();
    let (ok, out, err) = reply_attaching(
        &relay,
        &key_file,
        &thread.thread_id,
        "Your results are attached.",
        &path,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "sent as #1\n");

    // The patient finds the blob on the message and the key in the payload.
    let page: MessagePage = relay
        .get_ok(
            &format!("/v1/threads/{}/messages", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    let message = &page.messages[0];
    let payload = Envelope::from_bytes(&message.envelope.0)
        .unwrap()
        .open(&key, &thread.thread_id, &clinic_bundle)
        .unwrap();
    assert_eq!(payload.text, "Your results are attached.");
    let attachment = &payload.attachments[0];
    assert_eq!(
        message.attachments,
        std::slice::from_ref(&attachment.blob_id)
    );
    assert_eq!(attachment.name, "Lab results.PDF");
    assert_eq!(attachment.media_type, "application/pdf");
    assert_eq!(attachment.size, 1_500_001);
    assert!(attachment.thumbnail.is_none());

    // Cut as documented: header and 16 chunks, then the remaining 7.
    let info: ward_proto::blobs::BlobInfo = relay
        .get_ok(
            &format!("/v1/blobs/{}", attachment.blob_id),
            Some(&patient.token),
        )
        .await;
    let full = ward_seal::stream::ENCRYPTED_CHUNK_SIZE as u32;
    assert_eq!(
        info.part_sizes,
        [33 + 16 * full, 6 * full + (1_500_001 - 22 * 65_536) + 16]
    );
    let mut encrypted = Vec::new();
    for index in 0..info.part_sizes.len() {
        let response = relay
            .call(
                Method::GET,
                &format!("/v1/blobs/{}/parts/{index}", attachment.blob_id),
                Some(&patient.token),
                NONE,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        encrypted.extend_from_slice(&response.bytes().await.unwrap());
    }
    let opened = ward_seal::stream::decrypt_all(
        &ward_seal::stream::FileKey::from_bytes(attachment.file_key),
        &encrypted,
    )
    .unwrap();
    assert!(*opened == file, "the patient's copy differs");
    let mut hasher = ward_seal::stream::FileHasher::default();
    hasher.update(&opened);
    assert_eq!(hasher.finish(), attachment.sha256);

    // `read` lists it under the message.
    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(ok, "{err}");
    assert!(
        read.contains(
            "#1 Riverside Clinic: Your results are attached.\n    [attachment] Lab results.PDF (application/pdf, 1500001 bytes)\n"
        ),
        "{read}"
    );

    // --attach sends with one message, not a batch; a missing file sends nothing.
    let (ok, _, err) = reply_attaching(&relay, &key_file, &thread.thread_id, "-", &path).await;
    assert!(!ok && err.contains("--attach"), "{err}");
    let missing = work.path().join("nope.pdf");
    let (ok, _, err) = reply_attaching(&relay, &key_file, &thread.thread_id, "x", &missing).await;
    assert!(!ok && err.contains("nope.pdf"), "{err}");
}

#[tokio::test]
async fn read_saves_a_patients_attachments_checked_under_safe_names_inside_the_directory() {
    let (relay, work, key_file, _, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;

    // Parts cut across chunk boundaries: the agent must not rely on layout.
    let labs = file_bytes(300_000, 1);
    let hostile = file_bytes(70_000, 2);
    let second_labs = file_bytes(10, 3);
    let attachments = vec![
        upload_file(&relay, &patient, &labs, 100_000, "labs.pdf").await,
        upload_file(&relay, &patient, &hostile, 70_049, "../../etc/passwd").await,
        upload_file(&relay, &patient, &second_labs, 100, "labs.pdf").await,
    ];
    post_with_attachments(
        &relay,
        &patient,
        &key,
        &thread.thread_id,
        "m1",
        "My labs",
        attachments,
    )
    .await;

    let dir = work.path().join("inbox").join("saved");
    let (ok, out, err) = read_saving_attachments(&relay, &key_file, &thread.thread_id, &dir).await;
    assert!(ok, "{out}{err}");
    assert_eq!(files_in(&dir), ["labs (2).pdf", "labs.pdf", "passwd"]);
    assert!(std::fs::read(dir.join("labs.pdf")).unwrap() == labs);
    assert!(std::fs::read(dir.join("passwd")).unwrap() == hostile);
    assert!(std::fs::read(dir.join("labs (2).pdf")).unwrap() == second_labs);
    // Nothing landed outside the directory.
    assert!(!work.path().join("etc").exists());
    assert_eq!(files_in(&work.path().join("inbox")), ["saved"]);
    let shown = |name: &str, size: usize, file: &str| {
        format!(
            "    [attachment] {name} (application/pdf, {size} bytes) saved to {}\n",
            dir.join(file).display()
        )
    };
    for line in [
        shown("labs.pdf", 300_000, "labs.pdf"),
        shown("../../etc/passwd", 70_000, "passwd"),
        shown("labs.pdf", 10, "labs (2).pdf"),
    ] {
        assert!(out.contains(&line), "{line:?} not in\n{out}");
    }

    // An attachment whose SHA-256 does not match, and one whose blob was
    // never attached: each a clear line, no file, and a failed exit.
    let mut altered = upload_file(
        &relay,
        &patient,
        &file_bytes(5_000, 4),
        5_033,
        "altered.pdf",
    )
    .await;
    altered.sha256[0] ^= 1;
    let mut wrong_key =
        upload_file(&relay, &patient, &file_bytes(5_000, 5), 5_033, "wrong.pdf").await;
    wrong_key.file_key[0] ^= 1;
    post_with_attachments(
        &relay,
        &patient,
        &key,
        &thread.thread_id,
        "m2",
        "Two more",
        vec![altered, wrong_key],
    )
    .await;
    let (ok, out, err) = read_saving_attachments(&relay, &key_file, &thread.thread_id, &dir).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("    [attachment] altered.pdf (application/pdf, 5000 bytes) NOT saved: its SHA-256 does not match"),
        "{out}"
    );
    assert!(
        out.contains("    [attachment] wrong.pdf (application/pdf, 5000 bytes) NOT saved: it does not decrypt"),
        "{out}"
    );
    assert!(err.contains("2 attachments could not be saved"), "{err}");
    // The earlier files were saved again under new names; the failed ones
    // left nothing, not even a temporary file.
    assert_eq!(
        files_in(&dir),
        [
            "labs (2).pdf",
            "labs (3).pdf",
            "labs (4).pdf",
            "labs.pdf",
            "passwd",
            "passwd (2)"
        ]
    );
}

#[tokio::test]
async fn patient_text_cannot_drive_the_operators_terminal() {
    let (relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    // Clears the screen, then shows "exe.pdf" reversed as "fdp.exe", on a
    // second line that a carriage return would let overwrite the first.
    relay
        .send_ok(
            &patient,
            &key,
            &thread.thread_id,
            0,
            "m1",
            "Hi\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202E}exe.pdf\u{2066}\u{9b}31m\nline two\r\tend",
        )
        .await;
    let (ok, read, err) = agent(&relay, &key_file, &["read", &thread.thread_id]).await;
    assert!(ok, "{err}");
    assert!(
        !read.contains(['\u{1b}', '\u{7}', '\u{202E}', '\u{2066}', '\u{9b}', '\r']),
        "{read:?}"
    );
    assert_eq!(
        read.lines().collect::<Vec<_>>(),
        [
            "#1 Sam: Hi\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{202e}exe.pdf\\u{2066}\\u{9b}31m",
            "line two\\u{d}\tend",
            "Sam has not read anything yet",
        ],
        "{read:?}"
    );
}

/// Sam publishes `keys` (a fresh session: the enrollment's, minutes old,
/// passes the step-up), as a thief who took over Sam's account would.
async fn swap_keys(relay: &Relay, patient: &Account, keys: &ward_seal::keys::AccountKeys) {
    let response = relay
        .call(
            Method::PUT,
            "/v1/keys/me",
            Some(&patient.token),
            Some(&ward_proto::keys::PublishBundleRequest {
                bundle: Bytes(keys.bundle().to_bytes()),
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_agent_pins_keys_holds_a_changed_key_until_confirmed_and_refuses_a_rewritten_history() {
    use ward_seal::key_history;
    use ward_seal::keys::AccountKeys;
    let (relay, work, key_file, clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let t = thread.thread_id.as_str();
    relay
        .send_ok(&patient, &key, t, 0, "m1", "Is the lab open Saturday?")
        .await;
    let old_number = patient.keys.bundle().safety_number().to_string();

    // (a) First use pins Sam and the clinic, beside the key file, private.
    let (ok, read, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(
        ok && read.contains("Sam: Is the lab open Saturday?"),
        "{read}{err}"
    );
    let pins_file = work.path().join("clinic.key.pins.json");
    let pins = std::fs::read_to_string(&pins_file).unwrap();
    assert!(
        pins.contains(&patient.id) && pins.contains(&clinic_id),
        "{pins}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pins_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let (ok, list, err) = agent(&relay, &key_file, &["keys", "list"]).await;
    assert!(ok, "{err}");
    let sam_line = list.lines().find(|l| l.starts_with(&patient.id)).unwrap();
    assert!(
        sam_line.contains("Sam")
            && sam_line.contains(&old_number)
            && sam_line.contains("seq 0")
            && sam_line.ends_with("pinned"),
        "{list}"
    );
    // The clinic's reply carries the heads it pinned, which Sam can check.
    let (ok, _, err) = agent(&relay, &key_file, &["reply", t, "Yes, 9 to 12."]).await;
    assert!(ok, "{err}");
    let page: MessagePage = relay
        .get_ok(
            &format!("/v1/threads/{t}/messages?after=1"),
            Some(&patient.token),
        )
        .await;
    let reply = Envelope::from_bytes(&page.messages[0].envelope.0)
        .unwrap()
        .open(&key, t, &clinic_bundle)
        .unwrap();
    let sam_history: ward_proto::keys::KeyHistoryResponse = relay
        .get_ok(
            &format!("/v1/keys/{}/history", patient.id),
            Some(&patient.token),
        )
        .await;
    let sam_head = reply
        .key_heads
        .iter()
        .find(|h| h.account_id == patient.id)
        .unwrap();
    assert_eq!(
        (sam_head.seq, sam_head.hash.to_vec()),
        (0, sam_history.entries[0].hash.0.clone())
    );
    assert!(reply.key_heads.iter().any(|h| h.account_id == clinic_id));

    // (b) Sam's bundle is swapped (a thief with a fresh session): the agent
    // will not reply into the thread, and says why, with both numbers.
    let thief = AccountKeys::generate(&patient.id, 1_767_225_601, &mut os_rng()).unwrap();
    let new_number = thief.bundle().safety_number().to_string();
    swap_keys(&relay, &patient, &thief).await;
    let (ok, out, err) = agent(&relay, &key_file, &["reply", t, "Bring your card."]).await;
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("Sam's security key changed")
            && err.contains(&patient.id)
            && err.contains(&old_number)
            && err.contains(&new_number)
            && err.contains("keys confirm"),
        "{err}"
    );
    let page: MessagePage = relay
        .get_ok(
            &format!("/v1/threads/{t}/messages?after=0"),
            Some(&patient.token),
        )
        .await;
    assert_eq!(page.messages.len(), 2, "nothing was sent");

    // A message signed with the new key is held, not shown; (e) the thread
    // shows the notice, and standard error both numbers.
    let thief_account = Account {
        id: patient.id.clone(),
        token: patient.token.clone(),
        keys: thief,
    };
    relay
        .send_ok(
            &thief_account,
            &key,
            t,
            0,
            "m2",
            "Send the results to this address",
        )
        .await;
    let (ok, read, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(ok, "{err}");
    let today = ward_clinic::pins::day_month(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let notice = format!(
        "Sam's security key changed on {today}. If you didn't expect this, call them before replying."
    );
    // The notice sits before the first message after the change (the
    // relay dates changes to the second, so it may share one with #1-#2).
    let lines: Vec<&str> = read.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{read}\nstderr:\n{err}"))
    };
    assert_eq!(
        lines[at("#1 ")],
        "#1 Sam: Is the lab open Saturday?",
        "{read}"
    );
    assert_eq!(
        lines[at("#2 ")],
        "#2 Riverside Clinic: Yes, 9 to 12.",
        "{read}"
    );
    assert!(lines[at("#3 ")].starts_with("#3 Sam: [held"), "{read}");
    assert!(at(&notice) < at("#3 "), "{read}");
    assert!(!read.contains("Send the results"), "{read}");
    assert!(
        err.contains(&old_number) && err.contains(&new_number),
        "{err}"
    );
    let (ok, list, _) = agent(&relay, &key_file, &["keys", "list"]).await;
    assert!(
        ok && list.contains(&format!("CHANGED to {new_number}")),
        "{list}"
    );

    // (c) After comparing the number with Sam, the operator confirms it;
    // then the agent replies and shows the new key's messages.
    let (ok, out, err) = agent(&relay, &key_file, &["keys", "confirm", &patient.id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("before: {old_number}"))
            && out.contains(&format!("after:  {new_number}")),
        "{out}"
    );
    let (ok, read, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(
        ok && read.contains("#3 Sam: Send the results to this address"),
        "{read}{err}"
    );
    assert!(read.contains(&notice), "{read}");
    let (ok, out, err) = agent(&relay, &key_file, &["reply", t, "Bring your card."]).await;
    assert!(ok && out.trim() == "sent as #4", "{out}{err}");

    // (d) The relay rewrites Sam's history (its triggers dropped, entry 1
    // replaced and rehashed so the chain itself still checks out): refused.
    let other = AccountKeys::generate(&patient.id, 1_767_225_602, &mut os_rng()).unwrap();
    let db = relay.db().await;
    let on = if support::on_postgres() {
        " ON bundle_history"
    } else {
        ""
    };
    for trigger in ["bundle_history_no_update", "bundle_history_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {trigger}{on}"))
            .execute(&db)
            .await
            .unwrap();
    }
    let prev: [u8; 32] = sam_history.entries[0].hash.0.as_slice().try_into().unwrap();
    let forged = other.bundle().to_bytes();
    sqlx::query(
        "UPDATE bundle_history SET bundle = $1, hash = $2 WHERE account_id = $3 AND seq = 1",
    )
    .bind(&forged)
    .bind(key_history::entry_hash(&prev, 1, &forged).as_slice())
    .bind(&patient.id)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("UPDATE bundles SET bundle = $1 WHERE account_id = $2")
        .bind(&forged)
        .bind(&patient.id)
        .execute(&db)
        .await
        .unwrap();
    let (ok, out, err) = agent(&relay, &key_file, &["reply", t, "Are you there?"]).await;
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("rewrote the key history") && err.contains(&patient.id),
        "{err}"
    );
    let (ok, _, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(!ok && err.contains("rewrote the key history"), "{err}");
    let (ok, list, _) = agent(&relay, &key_file, &["keys", "list"]).await;
    assert!(ok && list.contains("REWRITTEN"), "{list}");
}

#[tokio::test]
async fn the_agent_refuses_a_message_whose_key_heads_show_a_split_view() {
    use ward_seal::payload::SeenKeyHead;
    let (relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let t = thread.thread_id.as_str();
    relay.send_ok(&patient, &key, t, 0, "m1", "Hello").await;
    let (ok, _, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(ok, "{err}");
    // Sam says the relay showed them a different history for Sam at seq 0.
    let mut payload = Payload::text("Did my keys change?");
    payload.key_heads = vec![SeenKeyHead {
        account_id: patient.id.clone(),
        seq: 0,
        hash: [9; 32],
    }];
    let response = relay
        .send_payload(&patient, &key, t, 0, "m2", &payload)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (ok, _, err) = agent(&relay, &key_file, &["read", t]).await;
    assert!(
        !ok && err.contains("split view") && err.contains(&patient.id),
        "{err}"
    );
}

/// Review finding (issue 12): a history that swaps a key and swaps it back
/// (A, B, A) between two of the agent's looks must not move the pin
/// silently: B was the patient's key for a while, and epochs or messages
/// under it would have been trusted. It is a change to confirm.
#[tokio::test]
async fn a_key_swapped_and_swapped_back_is_still_a_change_to_confirm() {
    use ward_seal::keys::AccountKeys;
    let (relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, _key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let t = thread.thread_id.as_str();
    // First use pins Sam's keys (A).
    let (ok, _, err) = agent(&relay, &key_file, &["reply", t, "Hello Sam."]).await;
    assert!(ok, "{err}");
    // B, then A again, before the agent looks.
    let thief = AccountKeys::generate(&patient.id, 1_767_225_601, &mut os_rng()).unwrap();
    swap_keys(&relay, &patient, &thief).await;
    swap_keys(&relay, &patient, &patient.keys).await;
    let (ok, out, err) = agent(&relay, &key_file, &["reply", t, "Bring your card."]).await;
    assert!(!ok && out.is_empty(), "{out}{err}");
    assert!(err.contains("security key changed"), "{err}");
    let (ok, list, err) = agent(&relay, &key_file, &["keys", "list"]).await;
    assert!(ok, "{err}");
    assert!(list.contains("CHANGED"), "{list}");
    // After the operator confirms, replies go again.
    let (ok, _, err) = agent(&relay, &key_file, &["keys", "confirm", &patient.id]).await;
    assert!(ok, "{err}");
    let (ok, out, err) = agent(&relay, &key_file, &["reply", t, "Bring your card."]).await;
    assert!(ok && out.trim() == "sent as #2", "{out}{err}");
}

/// `patient` starts a thread without keys (as fast as the API allows).
async fn start_bare(relay: &Relay, patient: &Account) -> Thread {
    relay
        .expect(
            Method::POST,
            "/v1/threads",
            Some(&patient.token),
            Some(&ward_proto::threads::CreateThreadRequest {
                category: Category::Other,
            }),
            StatusCode::CREATED,
        )
        .await
}

/// Issue 12 §2: one patient cannot hide other patients from the clinic: the
/// agent reads every page of the inbox.
#[tokio::test]
async fn six_hundred_threads_by_one_patient_do_not_hide_another_patient_from_the_clinic_agent() {
    let relay = Relay::start_with(|config| config.max_threads_per_day = 1_000).await;
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("clinic.key");
    let setup_file = relay.data.path().join(ward_relay::setup::SETUP_CODE_FILE);
    let (ok, _, err) = agent(
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
    let mut patients = Vec::new();
    for (name, contact) in [
        ("Ann", "ann@example.com"),
        ("Mallory", "mallory@example.com"),
    ] {
        let (ok, invite, err) = agent(
            &relay,
            &key_file,
            &["invite", "--name", name, "--contact", contact],
        )
        .await;
        assert!(ok, "{err}");
        patients.push(relay.enroll(invite.trim(), contact).await);
    }
    let (ann, mallory) = (&patients[0], &patients[1]);

    // Ann writes first...
    let clinic: ClinicInfo = relay.get_ok("/v1/clinic", Some(&ann.token)).await;
    let bundle: BundleResponse = relay
        .get_ok(&format!("/v1/keys/{}", clinic.account_id), Some(&ann.token))
        .await;
    let clinic_bundle = PublicBundle::from_bytes(&bundle.bundle.0).unwrap();
    let (anns, key) = relay
        .thread_with_key(ann, &clinic_bundle, Category::Refill)
        .await;
    relay
        .send_ok(ann, &key, &anns.thread_id, 0, "a1", "My inhaler is empty")
        .await;
    // ...then Mallory starts 600 threads, every one newer than Ann's.
    for _ in 0..60 {
        let starts: Vec<_> = (0..10).map(|_| start_bare(&relay, mallory)).collect();
        futures_util::future::join_all(starts).await;
    }

    // The agent lists all 601, Ann's among them (it was the 601st).
    let (ok, inbox, err) = agent(&relay, &key_file, &["inbox"]).await;
    assert!(ok, "{err}");
    assert_eq!(inbox.lines().count(), 601, "{err}");
    let anns_line = inbox
        .lines()
        .find(|line| line.starts_with(&anns.thread_id))
        .unwrap_or_else(|| panic!("Ann's thread is missing from the inbox"));
    assert!(anns_line.contains("unread 1"), "{anns_line}");

    // The bot finds and answers Ann's message.
    let (ok, _, err) = agent(&relay, &key_file, &["bot", "--once", "--no-delay"]).await;
    assert!(ok, "{err}");
    let page: MessagePage = relay
        .get_ok(
            &format!("/v1/threads/{}/messages", anns.thread_id),
            Some(&ann.token),
        )
        .await;
    assert_eq!(page.messages.len(), 2, "the bot answered Ann");
    assert_eq!(page.messages[1].sender_id, clinic.account_id);
}

/// `ward-relay` as a process of its own, on `data` (and the PostgreSQL
/// schema `database_url`, if any), listening on `port`; returns once it
/// says it listens.
fn relay_process(data: &Path, port: u16, database_url: Option<&str>) -> std::process::Child {
    use std::io::BufRead;
    // Built beside ward-clinic, in the same target directory.
    let bin = Path::new(env!("CARGO_BIN_EXE_ward-clinic")).with_file_name("ward-relay");
    assert!(
        bin.is_file(),
        "{} is missing: build the relay too (cargo test -p ward-relay -p ward-clinic)",
        bin.display()
    );
    let mut command = Command::new(bin);
    for (name, _) in std::env::vars() {
        if name.starts_with("WARD_") {
            command.env_remove(name);
        }
    }
    if let Some(url) = database_url {
        command.env("WARD_DATABASE_URL", url);
    }
    let mut child = command
        .args(["serve", "--dev", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-origin", "http://localhost:8080", "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("ward-relay listening"), "{first}");
    child
}

/// A patient's outbox and the clinic agent each send 100 messages while the
/// relay is killed (SIGKILL, twice) and restarted: every message is stored
/// exactly once, each sender's in the order sent, numbered without a gap.
#[tokio::test]
async fn killed_mid_conversation_the_relay_loses_and_repeats_nothing() {
    let (mut relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let url = relay.url.clone();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let database_url = relay.database_url.as_ref().map(|u| u.expose().to_owned());
    // From here a relay process serves the same data (and database).
    relay.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let data = relay.data.path().to_path_buf();
    let process = std::sync::Arc::new(std::sync::Mutex::new(relay_process(
        &data,
        port,
        database_url.as_deref(),
    )));

    // The clinic agent: 100 replies, one per line, each retried with its
    // own message id while the relay is away.
    let lines: String = (0..100).map(|i| format!("clinic {i}\n")).collect();
    let clinic = tokio::spawn({
        let url = url.clone();
        let key_file = key_file.clone();
        let thread_id = thread.thread_id.clone();
        async move { agent_with_input(&url, &key_file, &["reply", &thread_id, "-"], &lines).await }
    });

    // The patient's outbox: 100 messages, each posted until the relay
    // takes it, with the same message id every time (as the app's outbox).
    let http = reqwest::Client::new();
    let path = format!("{url}/v1/threads/{}/messages", thread.thread_id);
    let posts: Vec<PostMessageRequest> = (0..100)
        .map(|i| {
            support::envelope_request(
                &patient,
                &key,
                &thread.thread_id,
                0,
                &format!("p{i:03}"),
                &format!("patient {i}"),
            )
        })
        .collect();
    let mut kills = 0;
    for (i, post) in posts.iter().enumerate() {
        if i == 30 || i == 70 {
            // kill -9, then a new relay on the same port a moment later.
            let mut child = process.lock().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            let restart = {
                let process = process.clone();
                let data = data.clone();
                let database_url = database_url.clone();
                move || {
                    std::thread::sleep(Duration::from_millis(700));
                    *process.lock().unwrap() = relay_process(&data, port, database_url.as_deref());
                }
            };
            drop(child);
            std::thread::spawn(restart);
        }
        loop {
            let sent = http
                .post(&path)
                .bearer_auth(&patient.token)
                .json(post)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => break,
                Ok(response) if response.status().is_server_error() => {}
                Ok(response) => panic!("message {i} refused: {}", response.status()),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(kills, 2);
    let (ok, out, err) = clinic.await.unwrap();
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 100, "{out}");

    // Everything, read back through the relay now running.
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page: MessagePage = http
            .get(format!("{path}?after={after}&limit=200"))
            .bearer_auth(&patient.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(last) = page.messages.last() else {
            break;
        };
        after = last.seq;
        stored.extend(page.messages);
    }
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=200).collect::<Vec<u64>>(),
        "numbered without a gap"
    );
    let patient_bundle = patient.keys.bundle().clone();
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for message in &stored {
        let sender = if message.sender_id == patient.id {
            &patient_bundle
        } else {
            &clinic_bundle
        };
        let text = Envelope::from_bytes(&message.envelope.0)
            .unwrap()
            .open(&key, &thread.thread_id, sender)
            .unwrap()
            .text
            .clone();
        if message.sender_id == patient.id {
            mine.push(text);
        } else {
            theirs.push(text);
        }
    }
    let expected = |who: &str| (0..100).map(|i| format!("{who} {i}")).collect::<Vec<_>>();
    assert_eq!(
        mine,
        expected("patient"),
        "the patient's, once each, in order"
    );
    assert_eq!(
        theirs,
        expected("clinic"),
        "the clinic's, once each, in order"
    );
    process.lock().unwrap().kill().unwrap();
}

/// Recomputes the archive chain of `thread_id` from message `from` on, as
/// a relay rewriting history would, and sets the thread's head to it.
async fn rechain(relay: &Relay, thread_id: &str, from: i64) {
    use sqlx::Row;
    let db = relay.db().await;
    let mut prev: [u8; 32] = if from == 1 {
        ward_seal::archive::GENESIS
    } else {
        let chain: Vec<u8> =
            sqlx::query_scalar("SELECT chain FROM envelopes WHERE thread_id = $1 AND seq = $2")
                .bind(thread_id)
                .bind(from - 1)
                .fetch_one(&db)
                .await
                .unwrap();
        chain.try_into().unwrap()
    };
    let rows = sqlx::query(
        "SELECT seq, message_id, sender_id, envelope, received_at FROM envelopes
         WHERE thread_id = $1 AND seq >= $2 ORDER BY seq",
    )
    .bind(thread_id)
    .bind(from)
    .fetch_all(&db)
    .await
    .unwrap();
    for row in rows {
        let seq: i64 = row.get("seq");
        let (message_id, sender_id, envelope): (String, String, Vec<u8>) = (
            row.get("message_id"),
            row.get("sender_id"),
            row.get("envelope"),
        );
        prev = ward_seal::archive::chain(
            &prev,
            &ward_seal::archive::Link {
                seq: seq as u64,
                thread_id,
                sender_id: &sender_id,
                message_id: &message_id,
                envelope: &envelope,
                received_at: row.get("received_at"),
            },
        );
        sqlx::query("UPDATE envelopes SET chain = $1 WHERE thread_id = $2 AND seq = $3")
            .bind(prev.as_slice())
            .bind(thread_id)
            .bind(seq)
            .execute(&db)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE threads SET head_chain = $1 WHERE thread_id = $2")
        .bind(prev.as_slice())
        .bind(thread_id)
        .execute(&db)
        .await
        .unwrap();
}

/// The envelope bytes of message `seq`.
async fn envelope_of(relay: &Relay, thread_id: &str, seq: i64) -> Vec<u8> {
    sqlx::query_scalar("SELECT envelope FROM envelopes WHERE thread_id = $1 AND seq = $2")
        .bind(thread_id)
        .bind(seq)
        .fetch_one(&relay.db().await)
        .await
        .unwrap()
}

async fn set_envelope(relay: &Relay, thread_id: &str, seq: i64, envelope: &[u8]) {
    sqlx::query("UPDATE envelopes SET envelope = $1 WHERE thread_id = $2 AND seq = $3")
        .bind(envelope)
        .bind(thread_id)
        .bind(seq)
        .execute(&relay.db().await)
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_archive_proves_a_thread_whole_and_names_the_message_a_relay_changed() {
    let (relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let id = thread.thread_id.clone();
    relay.send_ok(&patient, &key, &id, 0, "p1", "one").await;
    relay.send_ok(&patient, &key, &id, 0, "p2", "two").await;
    let (ok, _, err) = agent(&relay, &key_file, &["reply", &id, "three"]).await;
    assert!(ok, "{err}");
    relay.send_ok(&patient, &key, &id, 0, "p4", "four").await;
    let args = ["verify-archive", id.as_str()];
    let verify = || agent(&relay, &key_file, &args);

    let (ok, out, err) = verify().await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!(
            "archive of {id} complete: messages #1 to #4, head "
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");

    // One envelope's bytes changed: its link no longer recomputes.
    let original = envelope_of(&relay, &id, 2).await;
    let mut altered = original.clone();
    let at = altered.len() - 65; // the ciphertext's last byte
    altered[at] ^= 1;
    set_envelope(&relay, &id, 2, &altered).await;
    let (ok, _, err) = verify().await;
    assert!(!ok);
    assert!(
        err.contains("FAILED at #2") && err.contains("chain link"),
        "{err}"
    );

    // The same change with the chain rewritten to match: the signature
    // still gives it away.
    rechain(&relay, &id, 2).await;
    let (ok, _, err) = verify().await;
    assert!(!ok);
    assert!(
        err.contains("FAILED at #2") && err.contains("signature"),
        "{err}"
    );
    set_envelope(&relay, &id, 2, &original).await;
    rechain(&relay, &id, 2).await;
    let (ok, _, err) = verify().await;
    assert!(ok, "{err}");

    // A message deleted from the middle.
    let db = relay.db().await;
    let row: (String, String, i64, Vec<u8>, i64, Option<i64>, Vec<u8>) = sqlx::query_as(
        "SELECT message_id, sender_id, epoch, envelope, received_at, activity, chain FROM envelopes WHERE thread_id = $1 AND seq = 3",
    )
    .bind(&id)
    .fetch_one(&db)
    .await
    .unwrap();
    sqlx::query("DELETE FROM envelopes WHERE thread_id = $1 AND seq = 3")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    let (ok, _, err) = verify().await;
    assert!(!ok);
    assert!(
        err.contains("FAILED at #3") && err.contains("missing"),
        "{err}"
    );
    sqlx::query(
        "INSERT INTO envelopes (thread_id, seq, message_id, sender_id, epoch, envelope, received_at, activity, chain)
         VALUES ($1, 3, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&row.0)
    .bind(&row.1)
    .bind(row.2)
    .bind(&row.3)
    .bind(row.4)
    .bind(row.5)
    .bind(&row.6)
    .execute(&db)
    .await
    .unwrap();

    // History rewritten with every signature intact (the time of #4
    // moved, the chain recomputed): it does not extend the head verified
    // before, so it is refused, naming that head.
    sqlx::query(
        "UPDATE envelopes SET received_at = received_at - 1000 WHERE thread_id = $1 AND seq = 4",
    )
    .bind(&id)
    .execute(&db)
    .await
    .unwrap();
    rechain(&relay, &id, 4).await;
    let (ok, _, err) = verify().await;
    assert!(!ok);
    assert!(
        err.contains("FAILED at #4") && err.contains("rewrote this thread's history"),
        "{err}"
    );
}

#[tokio::test]
async fn hold_keeps_a_patients_thread_from_retention_and_verify_archive_proves_what_is_kept() {
    let (relay, _work, key_file, _clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let id = thread.thread_id.clone();
    for i in 1..=4 {
        relay
            .send_ok(&patient, &key, &id, 0, &format!("p{i}"), "hello")
            .await;
    }
    let (ok, _, err) = agent(&relay, &key_file, &["verify-archive", &id]).await;
    assert!(ok, "{err}");
    let db = relay.db().await;
    sqlx::query(
        "UPDATE envelopes SET received_at = received_at - $1 WHERE thread_id = $2 AND seq <= 2",
    )
    .bind(2 * ward_relay::retention::YEAR_MS)
    .bind(&id)
    .execute(&db)
    .await
    .unwrap();
    let now = || {
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
    };

    let (ok, out, err) = agent(&relay, &key_file, &["hold", &patient.id, "on"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("legal hold on {}: on", patient.id));
    let pruned = ward_relay::retention::sweep(&db, 1, now()).await.unwrap();
    assert_eq!((pruned.messages, pruned.held), (0, 1));

    let (ok, out, err) = agent(&relay, &key_file, &["hold", &patient.id, "off"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("legal hold on {}: off", patient.id));
    let pruned = ward_relay::retention::sweep(&db, 1, now()).await.unwrap();
    assert_eq!(pruned.ranges, vec![(id.clone(), 1, 2)]);

    // The rest still proves complete, from the pruned point, and extends
    // the head verified before the pruning.
    let (ok, out, err) = agent(&relay, &key_file, &["verify-archive", &id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("complete: messages #3 to #4, head ")
            && out
                .trim_end()
                .ends_with("(messages #1 to #2 deleted by retention)"),
        "{out}"
    );

    let (ok, _, err) = agent(&relay, &key_file, &["hold", &patient.id, "maybe"]).await;
    assert!(!ok && err.contains("maybe"), "{err}");
    let (ok, _, err) = agent(&relay, &key_file, &["hold", "acc_nobody", "on"]).await;
    assert!(!ok && err.contains("not_found"), "{err}");
}

/// Sam removes Dana, his caregiver, from a thread she could read: the
/// relay takes nothing more under the key she holds, so the agent's next
/// reply starts the thread's next epoch, sealed to Sam and the clinic only
/// (with the keys it pinned), and Sam reads the reply under it.
#[tokio::test]
async fn after_a_caregiver_leaves_the_agents_reply_starts_an_epoch_without_her() {
    let (relay, _work, key_file, clinic_id, patient, clinic_bundle) = agent_clinic().await;
    let (thread, key) = sam_starts(&relay, &patient, &clinic_bundle, Category::Question).await;
    let dana = relay.caregiver_for(&patient, "dana@example.com").await;
    let history = thread_key::share_history(
        &[(0, &key)],
        &thread.thread_id,
        &patient.keys,
        dana.keys.bundle(),
        &mut os_rng(),
    )
    .unwrap();
    let shared = relay
        .call(
            Method::POST,
            &format!("/v1/threads/{}/members", thread.thread_id),
            Some(&patient.token),
            Some(&ward_proto::threads::AddMemberRequest {
                account_id: dana.id.clone(),
                sealed_keys: history.iter().map(|k| Bytes(k.to_bytes())).collect(),
            }),
        )
        .await;
    assert_eq!(shared.status(), StatusCode::CREATED);
    relay
        .send_ok(
            &patient,
            &key,
            &thread.thread_id,
            0,
            "m1",
            "Dana can see this",
        )
        .await;
    let ended = relay
        .call(
            Method::POST,
            &format!("/v1/caregivers/{}/end", dana.id),
            Some(&patient.token),
            NONE,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);

    let (ok, sent, err) = agent(
        &relay,
        &key_file,
        &["reply", &thread.thread_id, "Only for Sam now"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(sent.trim(), "sent as #2");
    let now: Thread = relay
        .get_ok(
            &format!("/v1/threads/{}", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    assert_eq!(now.current_epoch, Some(1));
    assert!(!now.needs_rekey);

    // Sam opens epoch 1's key, sealed by the clinic, and the reply with it.
    let sealed: ward_proto::threads::SealedKeys = relay
        .get_ok(
            &format!("/v1/threads/{}/keys", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    let entry = sealed.keys.iter().find(|k| k.epoch == 1).unwrap();
    assert_eq!(entry.sealer_id, clinic_id);
    let epoch_1 = ward_seal::thread_key::SealedThreadKey::from_bytes(&entry.sealed.0)
        .unwrap()
        .open(&patient.keys, &clinic_bundle, &thread.thread_id, 1)
        .unwrap();
    let page: MessagePage = relay
        .get_ok(
            &format!("/v1/threads/{}/messages?after=1", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    let reply = Envelope::from_bytes(&page.messages[0].envelope.0).unwrap();
    assert_eq!(reply.header().epoch, 1);
    let payload = reply
        .open(&epoch_1, &thread.thread_id, &clinic_bundle)
        .unwrap();
    assert_eq!(payload.text, "Only for Sam now");
    // Dana holds no key to it: no sealed key of epoch 1 names her, and the
    // relay serves her nothing of the thread.
    let db = relay.db().await;
    let hers: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sealed_keys WHERE thread_id = $1 AND epoch = 1 AND member_id = $2",
    )
    .bind(&thread.thread_id)
    .bind(&dana.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(hers, 0);
    relay
        .expect_not_found(
            &format!("/v1/threads/{}/keys", thread.thread_id),
            Some(&dana.token),
        )
        .await;
}

/// `audit ACCOUNT` prints the patient's access log oldest first and
/// verifies the chain; a log changed in the database fails with an error
/// exit, and so does an account that does not exist.
#[tokio::test]
async fn audit_prints_an_accounts_access_log_and_fails_when_it_was_changed() {
    let (relay, _work, key_file, _clinic_id, patient, _clinic_bundle) = agent_clinic().await;
    let verified_from_start = |out: &str| {
        out.contains(&format!(
            "access log of {} verified: entries #0 to #",
            patient.id
        )) && out.contains(", from its start, head ")
    };
    let (ok, out, err) = agent(&relay, &key_file, &["audit", &patient.id]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#0 "), "{out}");
    assert!(lines[0].contains(" signed_in (invite, "), "{out}");
    assert!(verified_from_start(&out), "{out}");

    // A log longer than one page (200) is read back to its first entry.
    let db = relay.db().await;
    for _ in 0..250 {
        ward_relay::history::record(
            &db,
            &patient.id,
            ward_proto::account::AccountEventKind::SignedOut,
            None,
            None,
        )
        .await
        .unwrap();
    }
    let (ok, out, err) = agent(&relay, &key_file, &["audit", &patient.id]).await;
    assert!(ok, "{err}");
    assert!(out.lines().next().unwrap().starts_with("#0 "), "{out}");
    assert!(out.lines().filter(|l| l.contains(" signed_out")).count() >= 250);
    assert!(verified_from_start(&out), "{out}");

    let drop_trigger = if support::on_postgres() {
        "DROP TRIGGER account_events_no_update ON account_events"
    } else {
        "DROP TRIGGER account_events_no_update"
    };
    sqlx::query(drop_trigger).execute(&db).await.unwrap();
    sqlx::query("UPDATE account_events SET at = at + 1 WHERE account_id = $1 AND seq = 0")
        .bind(&patient.id)
        .execute(&db)
        .await
        .unwrap();
    let (ok, _, err) = agent(&relay, &key_file, &["audit", &patient.id]).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "access log of {} FAILED: the access log's hash chain is broken at entry 0",
            patient.id
        )),
        "{err}"
    );
    let (ok, _, err) = agent(&relay, &key_file, &["audit", "acc_nobody"]).await;
    assert!(!ok && !err.is_empty());
}

/// `patient --minor --birth-date` makes a patient a minor, `guardian`
/// appoints a guardian whose invite works, and that guardian, enrolled,
/// waits for the teen's agreement; bad dates and relationships are refused
/// with a reason, and `--adult` removes the birth date.
#[tokio::test]
async fn patient_and_guardian_record_a_minor_and_appoint_a_guardian() {
    let (relay, _work, key_file, _clinic_id, patient, _clinic_bundle) = agent_clinic().await;
    let year = 1970 + support::unix_now() / 31_556_952 - 15;
    let birth = format!("{year}-01-01");
    let (ok, out, err) = agent(
        &relay,
        &key_file,
        &["patient", &patient.id, "--minor", "--birth-date", &birth],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("birth date of {}: {birth}", patient.id));
    let (ok, _, err) = agent(
        &relay,
        &key_file,
        &["patient", &patient.id, "--birth-date", "2011-02-30"],
    )
    .await;
    assert!(!ok && err.contains("That day does not exist"), "{err}");

    let (ok, _, err) = agent(
        &relay,
        &key_file,
        &[
            "guardian",
            &patient.id,
            "--name",
            "Dana Okafor",
            "--relationship",
            "landlord",
            "--contact",
            "dana@example.com",
        ],
    )
    .await;
    assert!(!ok && err.contains("landlord"), "{err}");
    let (ok, out, err) = agent(
        &relay,
        &key_file,
        &[
            "guardian",
            &patient.id,
            "--name",
            "Dana Okafor",
            "--relationship",
            "parent",
            "--contact",
            "dana@example.com",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let dana = relay.enroll(out.trim(), "dana@example.com").await;
    support::totp_on(&relay, &dana.token).await;
    let people: ward_proto::caregivers::People =
        relay.get_ok("/v1/caregivers", Some(&patient.token)).await;
    let appointed = people
        .caregivers
        .iter()
        .find(|c| c.account_id.as_deref() == Some(dana.id.as_str()))
        .unwrap();
    assert_eq!(
        appointed.status,
        ward_proto::caregivers::CaregiverStatus::AwaitingAssent
    );
    assert!(appointed.appointed_by_clinic);

    let (ok, out, err) = agent(&relay, &key_file, &["patient", &patient.id, "--adult"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("birth date of {}: none", patient.id));
    let people: ward_proto::caregivers::People =
        relay.get_ok("/v1/caregivers", Some(&patient.token)).await;
    assert_eq!(
        people.caregivers[0].status,
        ward_proto::caregivers::CaregiverStatus::Active
    );
}
