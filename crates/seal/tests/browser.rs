//! The seal crate in the browser (headless Chromium), where the client runs
//! it: round trips, and committed vectors opened on wasm32 exactly as on the
//! host.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::{AccountKeys, PublicBundle};
use ward_seal::padding::{MIN_PADDED_LEN, padded_len};
use ward_seal::payload::Payload;
use ward_seal::random::os_rng;
use ward_seal::recovery::RecoveryCode;
use ward_seal::stream::{self, FileKey};
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};
use ward_seal::vault::{RecoveryParams, Unlock, Vault};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn unhex(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

#[wasm_bindgen_test]
fn padding_matches_the_host_on_wasm32() {
    // wasm32 has a 32-bit usize: the bit arithmetic must agree with the host.
    assert_eq!(padded_len(3), MIN_PADDED_LEN);
    assert_eq!(padded_len(1000), 1024);
    assert_eq!(padded_len(100_000), 100_352);
}

#[wasm_bindgen_test]
fn keys_thread_keys_and_envelopes_round_trip() {
    let patient = AccountKeys::generate("patient", 1, &mut os_rng()).unwrap();
    let clinic = AccountKeys::generate("clinic", 1, &mut os_rng()).unwrap();
    let bundle = PublicBundle::from_bytes(&patient.bundle().to_bytes()).unwrap();
    let key = ThreadKey::generate(&mut os_rng());
    let sealed = thread_key::seal(&key, "t", 0, &patient, clinic.bundle(), &mut os_rng()).unwrap();
    let opened_key = SealedThreadKey::from_bytes(&sealed.to_bytes())
        .unwrap()
        .open(&clinic, &bundle, "t", 0)
        .unwrap();
    let header = Header {
        thread_id: "t".into(),
        epoch: 0,
        message_id: "m".into(),
        sender_id: "patient".into(),
        sent_at_ms: 1,
    };
    let payload = Payload::text("Sent from a phone browser");
    let envelope = envelope::seal(&patient, &key, header, &payload, &mut os_rng()).unwrap();
    let opened = Envelope::from_bytes(&envelope.to_bytes())
        .unwrap()
        .open(&opened_key, "t", &bundle)
        .unwrap();
    assert_eq!(opened, payload);
}

#[wasm_bindgen_test]
fn attachments_and_vaults_round_trip() {
    let key = FileKey::generate(&mut os_rng());
    let plaintext: Vec<u8> = (0..(stream::CHUNK_SIZE * 2 + 9)).map(|i| i as u8).collect();
    let encrypted = stream::encrypt_all(&key, &plaintext, &mut os_rng());
    assert_eq!(&*stream::decrypt_all(&key, &encrypted).unwrap(), &plaintext);

    let patient = AccountKeys::generate("patient", 1, &mut os_rng()).unwrap();
    let code = RecoveryCode::generate(&mut os_rng());
    let params = RecoveryParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };
    let (vault, _) = Vault::create(
        &patient,
        &[Unlock::RecoveryCode(&code)],
        params,
        &mut os_rng(),
    )
    .unwrap();
    let typed = RecoveryCode::parse(&code.reveal()).unwrap();
    let (opened, _) = Vault::from_bytes(&vault.to_bytes())
        .unwrap()
        .unlock(&Unlock::RecoveryCode(&typed))
        .unwrap();
    assert_eq!(opened.bundle(), patient.bundle());
}

#[wasm_bindgen_test]
fn host_made_vectors_open_in_the_browser() {
    let v: Value =
        serde_json::from_str(include_str!("vectors/envelope-full-payload.json")).unwrap();
    let key = ThreadKey::from_bytes(unhex(&v["thread_key"]).try_into().unwrap());
    let sender = PublicBundle::from_bytes(&unhex(&v["sender"]["bundle"])).unwrap();
    let payload = Envelope::from_bytes(&unhex(&v["envelope"]))
        .unwrap()
        .open(&key, "thread-0001", &sender)
        .unwrap();
    assert_eq!(payload.text, v["expected"]["ok"]["text"].as_str().unwrap());

    let v: Value = serde_json::from_str(include_str!("vectors/thread-key-sealed.json")).unwrap();
    let member = AccountKeys::from_secret_bytes(&unhex(&v["member"]["secret_keys"])).unwrap();
    let sealer = PublicBundle::from_bytes(&unhex(&v["sealer"]["bundle"])).unwrap();
    let key = SealedThreadKey::from_bytes(&unhex(&v["sealed"]))
        .unwrap()
        .open(&member, &sealer, "thread-0001", 0)
        .unwrap();
    assert_eq!(
        hex::encode(key.expose_bytes()),
        v["expected"]["ok"]["thread_key"].as_str().unwrap()
    );

    let v: Value = serde_json::from_str(include_str!("vectors/vault-recovery-code.json")).unwrap();
    let code = RecoveryCode::parse(v["unlock"]["recovery_code"].as_str().unwrap()).unwrap();
    let (keys, _) = Vault::from_bytes(&unhex(&v["vault"]))
        .unwrap()
        .unlock(&Unlock::RecoveryCode(&code))
        .unwrap();
    assert_eq!(keys.bundle().to_bytes(), unhex(&v["expected_bundle"]));
}
