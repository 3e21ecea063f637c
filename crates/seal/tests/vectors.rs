//! Ward's own test vectors: `tests/vectors/*.json`.
//!
//! * `committed_vectors_match_the_generator` regenerates every file from its
//!   fixed seed and fails on any drift (run with `WARD_WRITE_VECTORS=1` to
//!   rewrite them after a deliberate format change).
//! * `every_vector_checks_out` reads each file and checks it using only what
//!   the file says, the way an independent implementation would.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::key_history::{self, HistoryEntry, HistoryError, KeyHead};
use ward_seal::keys::{AccountKeys, KeysError, PublicBundle};
use ward_seal::payload::{
    AttachmentRef, Category, Payload, QuickReplyChosen, QuickReplyOption, SeenKeyHead,
};
use ward_seal::recovery::RecoveryCode;
use ward_seal::stream::{self, Encryptor, FileKey, StreamHeader};
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};
use ward_seal::vault::{RecoveryParams, Unlock, Vault};

/// Argon2id at its minimum keeps the vectors fast to check; real vaults use
/// `RecoveryParams::default()`, and the parameters are in the vault bytes.
const VECTOR_PARAMS: RecoveryParams = RecoveryParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};
const CREATED_AT: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SENT_AT_MS: u64 = 1_767_229_200_000; // 2026-01-01T01:00:00Z

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Every random byte of a vector comes from ChaCha20 keyed by
/// SHA-256("ward vector " || case name).
fn rng(case: &str) -> ChaCha20Rng {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"ward vector ")
        .chain_update(case.as_bytes())
        .finalize()
        .into();
    ChaCha20Rng::from_seed(seed)
}

fn h(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn unhex(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("valid hex")
}

fn account(id: &str, rng: &mut ChaCha20Rng) -> AccountKeys {
    AccountKeys::generate(id, CREATED_AT, rng).unwrap()
}

fn account_json(keys: &AccountKeys) -> Value {
    json!({
        "account_id": keys.account_id(),
        "secret_keys": h(&keys.to_secret_bytes()),
        "bundle": h(&keys.bundle().to_bytes()),
    })
}

fn account_from(value: &Value) -> AccountKeys {
    AccountKeys::from_secret_bytes(&unhex(&value["secret_keys"])).unwrap()
}

fn bundle_from(value: &Value) -> PublicBundle {
    PublicBundle::from_bytes(&unhex(&value["bundle"])).unwrap()
}

fn full_payload() -> Payload {
    let mut payload = Payload::text("Here is the photo of the rash on my arm. It itches at night.");
    payload.in_reply_to = Some("msg-0041".into());
    payload.quick_reply_options = vec![
        QuickReplyOption {
            id: "tue-0930".into(),
            label: "Tuesday 9:30".into(),
        },
        QuickReplyOption {
            id: "wed-1400".into(),
            label: "Wednesday 14:00".into(),
        },
    ];
    payload.quick_reply_chosen = Some(QuickReplyChosen {
        offer_message_id: "msg-0040".into(),
        option_id: "yes".into(),
    });
    payload.attachments = vec![AttachmentRef {
        blob_id: "blob-7f3a".into(),
        name: "arm.jpg".into(),
        media_type: "image/jpeg".into(),
        size: 1_234_567,
        file_key: [0x11; 32],
        sha256: [0x22; 32],
        thumbnail: Some(vec![0xff, 0xd8, 0xff, 0xe0]),
    }];
    payload.category = Some(Category::Question);
    payload
}

fn payload_json(payload: &Payload) -> Value {
    let mut value = json!({
        "text": payload.text,
        "in_reply_to": payload.in_reply_to,
        "quick_reply_options": payload.quick_reply_options.iter().map(|o| json!({"id": o.id, "label": o.label})).collect::<Vec<_>>(),
        "quick_reply_chosen": payload.quick_reply_chosen.as_ref().map(|c| json!({"offer_message_id": c.offer_message_id, "option_id": c.option_id})),
        "attachments": payload.attachments.iter().map(|a| json!({
            "blob_id": a.blob_id, "name": a.name, "media_type": a.media_type, "size": a.size,
            "file_key": h(&a.file_key), "sha256": h(&a.sha256), "thumbnail": a.thumbnail.as_deref().map(h),
        })).collect::<Vec<_>>(),
        "category": payload.category.map(|c| format!("{c:?}").to_lowercase()),
    });
    // Only when present: payloads from before tag 7 read as they always did.
    if !payload.key_heads.is_empty() {
        value["key_heads"] = payload
            .key_heads
            .iter()
            .map(|k| json!({"account_id": k.account_id, "seq": k.seq, "hash": h(&k.hash)}))
            .collect();
    }
    value
}

fn history_json(entries: &[HistoryEntry]) -> Value {
    entries
        .iter()
        .map(|e| json!({"seq": e.seq, "bundle": h(&e.bundle), "hash": h(&e.hash)}))
        .collect()
}

fn history_from(value: &Value) -> Vec<HistoryEntry> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| HistoryEntry {
            seq: e["seq"].as_u64().unwrap(),
            bundle: unhex(&e["bundle"]),
            hash: unhex(&e["hash"]).try_into().unwrap(),
        })
        .collect()
}

fn head_json(head: &KeyHead) -> Value {
    json!({"seq": head.seq, "hash": h(&head.hash)})
}

/// `base` with `comment` set and `changes` overriding its fields.
fn variant(base: &Value, comment: &str, changes: Value) -> Value {
    let mut v = base.clone();
    v["comment"] = json!(comment);
    for (k, val) in changes.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

/// Replaces the first occurrence of `from` with `to` (same length).
fn splice(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("field present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

fn plaintext_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn generate() -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    let mut add = |name: &str, value: Value| {
        files.insert(format!("{name}.json"), value);
    };

    // Bundles.
    let mut r = rng("bundle");
    let patient = account("patient-7f3a", &mut r);
    add(
        "bundle-valid",
        json!({
            "comment": "A patient's public bundle; it parses, its self-signature verifies, and its safety number is as given.",
            "kind": "bundle",
            "account": account_json(&patient),
            "expected": {"ok": {"safety_number": patient.bundle().safety_number().to_string()}},
        }),
    );
    let mut bad_sig = patient.bundle().to_bytes();
    *bad_sig.last_mut().unwrap() ^= 0x01;
    add(
        "bundle-bad-signature",
        json!({
            "comment": "bundle-valid with the last bit of its signature flipped: refused.",
            "kind": "bundle",
            "account": {"bundle": h(&bad_sig)},
            "expected": {"error": "BadSignature"},
        }),
    );
    let low_order = splice(
        &patient.bundle().to_bytes(),
        patient.bundle().x25519_public(),
        &[0; 32],
    );
    add(
        "bundle-low-order-x25519",
        json!({
            "comment": "bundle-valid with its X25519 key replaced by the all-zero (low-order) point: refused before the signature is even checked.",
            "kind": "bundle",
            "account": {"bundle": h(&low_order)},
            "expected": {"error": "WeakKey"},
        }),
    );

    let mut identity = [0u8; 32];
    identity[0] = 1;
    let small_ed = splice(
        &patient.bundle().to_bytes(),
        patient.bundle().ed25519_public(),
        &identity,
    );
    add(
        "bundle-small-order-ed25519",
        json!({
            "comment": "bundle-valid with its Ed25519 key replaced by the identity point (small order): refused as a weak key.",
            "kind": "bundle",
            "account": {"bundle": h(&small_ed)},
            "expected": {"error": "WeakKey"},
        }),
    );

    // Thread keys.
    let mut r = rng("thread-key");
    let patient = account("patient-7f3a", &mut r);
    let clinic = account("clinic-riverside", &mut r);
    let stranger = account("stranger", &mut r);
    let key = ThreadKey::generate(&mut r);
    let sealed =
        thread_key::seal(&key, "thread-0001", 0, &patient, clinic.bundle(), &mut r).unwrap();
    let base = json!({
        "kind": "thread_key",
        "sealer": account_json(&patient),
        "member": account_json(&clinic),
        "thread_id": "thread-0001",
        "epoch": 0,
        "sealed": h(&sealed.to_bytes()),
    });
    let with = |comment: &str, changes: Value| variant(&base, comment, changes);
    add(
        "thread-key-sealed",
        with(
            "Epoch 0's thread key, sealed by the patient to the clinic (HPKE base mode, signed by the sealer). Opens to `thread_key`.",
            json!({"expected": {"ok": {"thread_key": h(key.expose_bytes())}}}),
        ),
    );
    add(
        "thread-key-wrong-member",
        with(
            "thread-key-sealed opened by an account it was not sealed to: fails.",
            json!({"member": account_json(&stranger), "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "thread-key-swapped-epoch",
        with(
            "thread-key-sealed with its epoch field changed from 0 to 1, opened as epoch 1: the signature and the HPKE info both fail.",
            json!({"sealed": h(&splice(&sealed.to_bytes(), &[0, 0, 0, 0, 16], &[0, 0, 0, 1, 16])), "epoch": 1, "expected": {"error": "DecryptError"}}),
        ),
    );
    let mut low_enc = sealed.to_bytes();
    let enc_at = low_enc.len() - 64 - 48 - 32;
    low_enc[enc_at..enc_at + 32].copy_from_slice(&[0; 32]);
    add(
        "thread-key-low-order-enc",
        with(
            "thread-key-sealed with its HPKE `enc` replaced by the all-zero point: fails (signature, and HPKE rejects the zero shared secret).",
            json!({"sealed": h(&low_enc), "expected": {"error": "DecryptError"}}),
        ),
    );

    // Envelopes.
    let mut r = rng("envelope");
    let patient = account("patient-7f3a", &mut r);
    let clinic = account("clinic-riverside", &mut r);
    let key = ThreadKey::generate(&mut r);
    let header = |message_id: &str, sender: &str| Header {
        thread_id: "thread-0001".into(),
        epoch: 2,
        message_id: message_id.into(),
        sender_id: sender.into(),
        sent_at_ms: SENT_AT_MS,
    };
    let text = Payload::text("Is my prescription ready to pick up?");
    let text_env = envelope::seal(
        &patient,
        &key,
        header("msg-0042", "patient-7f3a"),
        &text,
        &mut r,
    )
    .unwrap();
    let full = full_payload();
    let full_env = envelope::seal(
        &clinic,
        &key,
        header("msg-0043", "clinic-riverside"),
        &full,
        &mut r,
    )
    .unwrap();
    let base = json!({
        "kind": "envelope",
        "thread_key": h(key.expose_bytes()),
        "thread_id": "thread-0001",
        "sender": account_json(&patient),
        "envelope": h(&text_env.to_bytes()),
    });
    let with = |comment: &str, changes: Value| variant(&base, comment, changes);
    add(
        "envelope-text",
        with(
            "A text message from the patient in epoch 2 of thread-0001. Opens to the payload given.",
            json!({"expected": {"ok": payload_json(&text)}}),
        ),
    );
    add(
        "envelope-full-payload",
        with(
            "A clinic message using every payload field. Opens to the payload given.",
            json!({"sender": account_json(&clinic), "envelope": h(&full_env.to_bytes()), "expected": {"ok": payload_json(&full)}}),
        ),
    );
    let mut flipped = text_env.to_bytes();
    *flipped.last_mut().unwrap() ^= 0x80;
    add(
        "envelope-bad-signature",
        with(
            "envelope-text with one bit of the signature flipped: fails.",
            json!({"envelope": h(&flipped), "expected": {"error": "DecryptError"}}),
        ),
    );
    let mut flipped_ct = text_env.to_bytes();
    let ct_at = flipped_ct.len() - 64 - 20;
    flipped_ct[ct_at] ^= 0x01;
    add(
        "envelope-bad-ciphertext",
        with(
            "envelope-text with one ciphertext bit flipped: fails (signature and AEAD).",
            json!({"envelope": h(&flipped_ct), "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "envelope-swapped-thread",
        with(
            "envelope-text with its thread id rewritten to thread-0002, read as thread-0002: fails.",
            json!({"envelope": h(&splice(&text_env.to_bytes(), b"thread-0001", b"thread-0002")), "thread_id": "thread-0002", "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "envelope-moved-thread",
        with(
            "envelope-text, untouched, but read by a client that believes it is in thread-0002: fails.",
            json!({"thread_id": "thread-0002", "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "envelope-swapped-epoch",
        with(
            "envelope-text with its epoch rewritten from 2 to 3: fails.",
            json!({"envelope": h(&splice(&text_env.to_bytes(), &[0, 0, 0, 2, 8], &[0, 0, 0, 3, 8])), "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "envelope-wrong-sender",
        with(
            "envelope-text checked against the clinic's bundle (as if the clinic sent it): fails.",
            json!({"sender": account_json(&clinic), "expected": {"error": "DecryptError"}}),
        ),
    );
    let bytes = text_env.to_bytes();
    add(
        "envelope-truncated",
        with(
            "envelope-text without its last byte: fails to parse.",
            json!({"envelope": h(&bytes[..bytes.len() - 1]), "expected": {"error": "DecryptError"}}),
        ),
    );

    add(
        "envelope-non-canonical-s",
        with(
            "envelope-text with its signature's S replaced by S + L (the group order): the same point equation holds, but strict verification requires S < L, so it fails.",
            json!({"envelope": h(&with_s_plus_l(&bytes)), "expected": {"error": "DecryptError"}}),
        ),
    );

    // Payloads.
    add(
        "payload-full",
        json!({
            "comment": "Every payload field: the encoding, and the padded form the envelope encrypts.",
            "kind": "payload",
            "encoded": h(&full.encode()),
            "padded": h(&full.to_padded().unwrap()),
            "expected": {"ok": payload_json(&full)},
        }),
    );
    let mut future = Payload::text("hi").encode().to_vec();
    future.extend_from_slice(&[0x01, 0x00, 0, 0, 0, 3, b'n', b'e', b'w']);
    add(
        "payload-unknown-field",
        json!({
            "comment": "A payload with a field of unknown tag 0x0100 (from a newer client): the field is skipped.",
            "kind": "payload",
            "encoded": h(&future),
            "expected": {"ok": payload_json(&Payload::text("hi"))},
        }),
    );
    let mut heads = Payload::text("Thanks, see you Tuesday.");
    heads.key_heads = vec![
        SeenKeyHead {
            account_id: "clinic-riverside".into(),
            seq: 0,
            hash: [0x33; 32],
        },
        SeenKeyHead {
            account_id: "patient-7f3a".into(),
            seq: 2,
            hash: [0x44; 32],
        },
    ];
    add(
        "payload-key-heads",
        json!({
            "comment": "A payload carrying the sender's pinned key-history heads (tag 7, repeated; each a field list: 1 account_id, 2 seq u64, 3 hash [32]).",
            "kind": "payload",
            "encoded": h(&heads.encode()),
            "padded": h(&heads.to_padded().unwrap()),
            "expected": {"ok": payload_json(&heads)},
        }),
    );

    // Key histories.
    let mut r = rng("key-history");
    let bundles: Vec<Vec<u8>> = (0..3)
        .map(|_| account("patient-7f3a", &mut r).bundle().to_bytes())
        .collect();
    let other = account("stranger", &mut r).bundle().to_bytes();
    let mut chain: Vec<HistoryEntry> = Vec::new();
    for bundle in &bundles {
        let next = key_history::next_entry(chain.last(), bundle.clone());
        chain.push(next);
    }
    let pinned = key_history::verify("patient-7f3a", &chain[..1])
        .unwrap()
        .head();
    let base = json!({
        "kind": "key_history",
        "account_id": "patient-7f3a",
        "entries": history_json(&chain),
        "pinned": head_json(&pinned),
    });
    let with = |comment: &str, changes: Value| variant(&base, comment, changes);
    let current = PublicBundle::from_bytes(&bundles[2]).unwrap();
    add(
        "key-history-valid",
        with(
            "Three bundles of one account, hash-chained: entry_hash = SHA-256(\"ward key history v1\" || prev [32] || seq u64 || len(bundle) u32 || bundle), prev of seq 0 all zero. Verifies; the head and the current bundle's safety number are as given, and it extends the head pinned after entry 0.",
            json!({"expected": {"ok": {"head": head_json(&key_history::verify("patient-7f3a", &chain).unwrap().head()), "safety_number": current.safety_number().to_string(), "extends_pinned": true}}}),
        ),
    );
    let mut altered = chain.clone();
    altered[1].bundle.clone_from(&other);
    add(
        "key-history-broken-chain",
        with(
            "key-history-valid with entry 1's bundle replaced, its hash left: refused.",
            json!({"entries": history_json(&altered), "expected": {"error": "BrokenChain"}}),
        ),
    );
    add(
        "key-history-gap",
        with(
            "key-history-valid without entry 1: refused.",
            json!({"entries": history_json(&[chain[0].clone(), chain[2].clone()]), "expected": {"error": "Gap"}}),
        ),
    );
    add(
        "key-history-wrong-account",
        with(
            "key-history-valid checked as the history of another account: refused.",
            json!({"account_id": "stranger", "expected": {"error": "WrongAccount"}}),
        ),
    );
    let mut repeated = chain[..2].to_vec();
    let again = key_history::next_entry(repeated.last(), bundles[1].clone());
    repeated.push(again);
    add(
        "key-history-repeated-bundle",
        with(
            "A chain whose entry 2 repeats entry 1's bundle (a relay appends only a change): refused.",
            json!({"entries": history_json(&repeated), "expected": {"error": "RepeatedBundle"}}),
        ),
    );
    add(
        "key-history-empty",
        with(
            "No entries: refused.",
            json!({"entries": [], "expected": {"error": "Empty"}}),
        ),
    );
    let mut rewritten = chain[..1].to_vec();
    let forged = account("patient-7f3a", &mut r).bundle().to_bytes();
    let next = key_history::next_entry(rewritten.last(), forged);
    rewritten.push(next);
    let next = key_history::next_entry(rewritten.last(), bundles[2].clone());
    rewritten.push(next);
    let pinned_1 = key_history::verify("patient-7f3a", &chain[..2])
        .unwrap()
        .head();
    add(
        "key-history-rewritten",
        with(
            "A well-formed chain that replaced entry 1 and rehashed from there: it verifies, but does not extend the head a client pinned at entry 1 of key-history-valid (a rewrite: refuse the account).",
            json!({"entries": history_json(&rewritten), "pinned": head_json(&pinned_1), "expected": {"ok": {"head": head_json(&key_history::verify("patient-7f3a", &rewritten).unwrap().head()), "safety_number": current.safety_number().to_string(), "extends_pinned": false}}}),
        ),
    );

    let sizes: Vec<Value> = [
        0usize, 1, 4, 255, 256, 257, 272, 273, 350, 511, 512, 513, 1000, 1024, 1025, 4096, 4097,
        65_536, 100_000, 524_292,
    ]
    .iter()
    .map(|&l| json!([l, ward_seal::padding::padded_len(l)]))
    .collect();
    add(
        "padding-sizes",
        json!({
            "comment": "padded_len(L) for lengths around every rule boundary (L includes the 4-byte length prefix).",
            "kind": "padding",
            "sizes": sizes,
        }),
    );

    // Attachment streams.
    let mut r = rng("stream");
    for (name, len, comment) in [
        (
            "stream-one-chunk",
            100usize,
            "A 100-byte file: one final chunk.",
        ),
        (
            "stream-two-chunks",
            stream::CHUNK_SIZE + 100,
            "A 65 636-byte file: a full chunk, then a 100-byte final chunk.",
        ),
        (
            "stream-exact-chunk",
            stream::CHUNK_SIZE,
            "A file of exactly one chunk: the full chunk is the final one.",
        ),
        (
            "stream-two-full-chunks",
            2 * stream::CHUNK_SIZE,
            "A 131 072-byte file: two full chunks, the second final.",
        ),
    ] {
        let file_key = FileKey::generate(&mut r);
        let encrypted = stream::encrypt_all(&file_key, &plaintext_pattern(len), &mut r);
        add(
            name,
            json!({
                "comment": format!("{comment} Plaintext byte i is i mod 251. `encrypted` is given in full under 4 KiB, else by SHA-256."),
                "kind": "stream",
                "file_key": h(&file_key.to_bytes()),
                "plaintext_len": len,
                "header": h(&encrypted[..stream::HEADER_LEN]),
                "encrypted_sha256": h(&Sha256::digest(&encrypted)),
                "encrypted": if encrypted.len() < 4096 { json!(h(&encrypted)) } else { Value::Null },
                "expected": {"ok": {}},
            }),
        );
    }
    for (base, mutation, comment) in [
        (
            "stream-two-chunks",
            "drop_final_chunk",
            "stream-two-chunks without its final chunk: the full chunk was not sealed as final, so it fails.",
        ),
        (
            "stream-two-chunks",
            "drop_last_byte",
            "stream-two-chunks cut one byte short: fails.",
        ),
        (
            "stream-two-chunks",
            "append_first_chunk",
            "stream-two-chunks with its first chunk appended again: fails.",
        ),
        (
            "stream-two-full-chunks",
            "swap_chunks_0_and_1",
            "stream-two-full-chunks with its two chunks swapped (same lengths): fails.",
        ),
    ] {
        add(
            &format!("stream-{}", mutation.replace('_', "-")),
            json!({
                "comment": comment,
                "kind": "stream_mutation",
                "base": format!("{base}.json"),
                "mutation": mutation,
                "expected": {"error": "DecryptError"},
            }),
        );
    }

    // Vaults and recovery codes.
    let mut r = rng("vault");
    let patient = account("patient-7f3a", &mut r);
    let code = RecoveryCode::generate(&mut r);
    let other_code = RecoveryCode::generate(&mut r);
    let prf = [0x5au8; 32];
    let passkey = Unlock::Passkey {
        credential_id: b"credential-0001",
        prf_output: &prf,
    };
    let (mut vault, vault_key) = Vault::create(
        &patient,
        std::slice::from_ref(&passkey),
        VECTOR_PARAMS,
        &mut r,
    )
    .unwrap();
    vault
        .add_method(
            &vault_key,
            &Unlock::RecoveryCode(&code),
            VECTOR_PARAMS,
            &mut r,
        )
        .unwrap();
    let device_key = [0xd7u8; 32];
    vault
        .add_method(
            &vault_key,
            &Unlock::Device {
                device_id: "device-phone",
                key: &device_key,
            },
            VECTOR_PARAMS,
            &mut r,
        )
        .unwrap();
    let base = json!({
        "kind": "vault",
        "vault": h(&vault.to_bytes()),
        "expected_bundle": h(&patient.bundle().to_bytes()),
    });
    let with = |comment: &str, changes: Value| variant(&base, comment, changes);
    add(
        "vault-passkey",
        with(
            "A vault with three unlock methods, opened with the passkey's PRF output.",
            json!({"unlock": {"passkey": {"credential_id": h(b"credential-0001"), "prf_output": h(&prf)}}, "expected": {"ok": {}}}),
        ),
    );
    add(
        "vault-recovery-code",
        with(
            "The same vault opened with the recovery code (Argon2id at the parameters stored in the vault).",
            json!({"unlock": {"recovery_code": code.reveal().as_str()}, "expected": {"ok": {}}}),
        ),
    );
    add(
        "vault-device",
        with(
            "The same vault opened with the device-bound key.",
            json!({"unlock": {"device": {"device_id": "device-phone", "key": h(&device_key)}}, "expected": {"ok": {}}}),
        ),
    );
    add(
        "vault-wrong-recovery-code",
        with(
            "The same vault with a well-formed recovery code that is not its own: fails.",
            json!({"unlock": {"recovery_code": other_code.reveal().as_str()}, "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "vault-wrong-prf",
        with(
            "The same vault with the right credential id but another PRF output: fails.",
            json!({"unlock": {"passkey": {"credential_id": h(b"credential-0001"), "prf_output": h(&[0x5b; 32])}}, "expected": {"error": "DecryptError"}}),
        ),
    );
    add(
        "recovery-code-typo",
        json!({
            "comment": "vault-recovery-code's code with one character changed: the checksum catches it before any KDF runs.",
            "kind": "recovery_code",
            "typed": typo(&code.reveal()),
            "expected": {"error": "Typo"},
        }),
    );
    files
}

/// The signature's S (its last 32 bytes, little-endian) plus the Ed25519
/// group order L.
fn with_s_plus_l(envelope: &[u8]) -> Vec<u8> {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = envelope.to_vec();
    let s_at = out.len() - 32;
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let sum = u16::from(out[s_at + i]) + u16::from(*l) + carry;
        out[s_at + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

fn typo(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[test]
fn committed_vectors_match_the_generator() {
    let generated = generate();
    if std::env::var_os("WARD_WRITE_VECTORS").is_some() {
        for (name, value) in &generated {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            std::fs::write(dir().join(name), text).unwrap();
        }
    }
    for (name, value) in &generated {
        let path = dir().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with WARD_WRITE_VECTORS=1", path.display()));
        let committed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(&committed, value, "{name} drifted from the generator");
    }
    let known: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.starts_with("rfc9180-"))
        .collect();
    for name in known {
        assert!(
            generated.contains_key(&name),
            "{name} is not produced by the generator"
        );
    }
}

#[test]
fn every_vector_checks_out() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with("rfc9180-") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(v["comment"].is_string(), "{name} has no comment");
        check(&name, &v);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors");
}

fn expect_error(name: &str, v: &Value, got: Option<String>) {
    let wanted = v["expected"]["error"].as_str();
    assert_eq!(got.as_deref(), wanted, "{name}");
}

fn check(name: &str, v: &Value) {
    match v["kind"].as_str().unwrap() {
        "bundle" => {
            let parsed = PublicBundle::from_bytes(&unhex(&v["account"]["bundle"]));
            match parsed {
                Ok(bundle) => {
                    assert_eq!(
                        bundle.safety_number().to_string(),
                        v["expected"]["ok"]["safety_number"].as_str().unwrap(),
                        "{name}"
                    );
                    let keys = account_from(&v["account"]);
                    assert_eq!(keys.bundle(), &bundle, "{name}");
                }
                Err(e) => expect_error(
                    name,
                    v,
                    Some(match e {
                        KeysError::BadSignature => "BadSignature".into(),
                        KeysError::WeakKey => "WeakKey".into(),
                        other => format!("{other:?}"),
                    }),
                ),
            }
        }
        "thread_key" => {
            let opened = SealedThreadKey::from_bytes(&unhex(&v["sealed"])).and_then(|sealed| {
                sealed.open(
                    &account_from(&v["member"]),
                    &bundle_from(&v["sealer"]),
                    v["thread_id"].as_str().unwrap(),
                    u32::try_from(v["epoch"].as_u64().unwrap()).unwrap(),
                )
            });
            match opened {
                Ok(key) => assert_eq!(
                    h(key.expose_bytes()),
                    v["expected"]["ok"]["thread_key"].as_str().unwrap(),
                    "{name}"
                ),
                Err(_) => expect_error(name, v, Some("DecryptError".into())),
            }
        }
        "envelope" => {
            let key = ThreadKey::from_bytes(unhex(&v["thread_key"]).try_into().unwrap());
            let opened = Envelope::from_bytes(&unhex(&v["envelope"])).and_then(|envelope| {
                envelope.open(
                    &key,
                    v["thread_id"].as_str().unwrap(),
                    &bundle_from(&v["sender"]),
                )
            });
            match opened {
                Ok(payload) => assert_eq!(payload_json(&payload), v["expected"]["ok"], "{name}"),
                Err(_) => expect_error(name, v, Some("DecryptError".into())),
            }
        }
        "payload" => {
            let decoded = Payload::decode(&unhex(&v["encoded"])).unwrap();
            assert_eq!(payload_json(&decoded), v["expected"]["ok"], "{name}");
            if !v["padded"].is_null() {
                let padded = unhex(&v["padded"]);
                assert_eq!(
                    payload_json(&Payload::from_padded(&padded).unwrap()),
                    v["expected"]["ok"]
                );
                assert_eq!(&*decoded.to_padded().unwrap(), &padded, "{name}");
            }
        }
        "key_history" => {
            let entries = history_from(&v["entries"]);
            match key_history::verify(v["account_id"].as_str().unwrap(), &entries) {
                Ok(verified) => {
                    let ok = &v["expected"]["ok"];
                    assert!(ok.is_object(), "{name}");
                    assert_eq!(head_json(&verified.head()), ok["head"], "{name}");
                    assert_eq!(
                        verified.current().safety_number().to_string(),
                        ok["safety_number"].as_str().unwrap(),
                        "{name}"
                    );
                    // Every hash, recomputed from the bytes the file gives.
                    let mut prev = [0u8; 32];
                    for entry in &entries {
                        let mut input = b"ward key history v1".to_vec();
                        input.extend_from_slice(&prev);
                        input.extend_from_slice(&entry.seq.to_be_bytes());
                        input.extend_from_slice(
                            &u32::try_from(entry.bundle.len()).unwrap().to_be_bytes(),
                        );
                        input.extend_from_slice(&entry.bundle);
                        let hash: [u8; 32] = Sha256::digest(&input).into();
                        assert_eq!(hash, entry.hash, "{name}");
                        prev = hash;
                    }
                    let pinned = KeyHead {
                        seq: v["pinned"]["seq"].as_u64().unwrap(),
                        hash: unhex(&v["pinned"]["hash"]).try_into().unwrap(),
                    };
                    assert_eq!(
                        verified.extends(&pinned),
                        ok["extends_pinned"].as_bool().unwrap(),
                        "{name}"
                    );
                }
                Err(e) => expect_error(
                    name,
                    v,
                    Some(
                        match e {
                            HistoryError::Empty => "Empty",
                            HistoryError::Gap => "Gap",
                            HistoryError::BrokenChain => "BrokenChain",
                            HistoryError::BadBundle => "BadBundle",
                            HistoryError::WrongAccount => "WrongAccount",
                            HistoryError::RepeatedBundle => "RepeatedBundle",
                        }
                        .into(),
                    ),
                ),
            }
        }
        "padding" => {
            for pair in v["sizes"].as_array().unwrap() {
                let (len, padded) = (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap());
                let len = usize::try_from(len).unwrap();
                assert_eq!(
                    ward_seal::padding::padded_len(len) as u64,
                    padded,
                    "{name}: {len}"
                );
            }
        }
        "stream" => {
            let (file_key, encrypted) = rebuild_stream(v);
            assert_eq!(
                h(&Sha256::digest(&encrypted)),
                v["encrypted_sha256"].as_str().unwrap(),
                "{name}"
            );
            if !v["encrypted"].is_null() {
                assert_eq!(encrypted, unhex(&v["encrypted"]), "{name}");
            }
            let plaintext = stream::decrypt_all(&file_key, &encrypted).unwrap();
            assert_eq!(&*plaintext, &plaintext_pattern(plaintext.len()), "{name}");
        }
        "stream_mutation" => {
            let base: Value = serde_json::from_str(
                &std::fs::read_to_string(dir().join(v["base"].as_str().unwrap())).unwrap(),
            )
            .unwrap();
            let (file_key, encrypted) = rebuild_stream(&base);
            let c = stream::ENCRYPTED_CHUNK_SIZE;
            let hl = stream::HEADER_LEN;
            let mutated = match v["mutation"].as_str().unwrap() {
                "drop_final_chunk" => encrypted[..hl + c].to_vec(),
                "drop_last_byte" => encrypted[..encrypted.len() - 1].to_vec(),
                "append_first_chunk" => [&encrypted[..], &encrypted[hl..hl + c]].concat(),
                "swap_chunks_0_and_1" => {
                    let mut swapped = encrypted[..hl].to_vec();
                    swapped.extend_from_slice(&encrypted[hl + c..hl + 2 * c]);
                    swapped.extend_from_slice(&encrypted[hl..hl + c]);
                    assert_eq!(swapped.len(), encrypted.len());
                    swapped
                }
                other => panic!("{name}: unknown mutation {other}"),
            };
            expect_error(
                name,
                v,
                stream::decrypt_all(&file_key, &mutated)
                    .err()
                    .map(|_| "DecryptError".into()),
            );
        }
        "vault" => {
            let vault = Vault::from_bytes(&unhex(&v["vault"])).unwrap();
            let unlock = &v["unlock"];
            let (credential, prf, device_key, code);
            let secret = if let Some(p) = unlock.get("passkey") {
                credential = unhex(&p["credential_id"]);
                prf = <[u8; 32]>::try_from(unhex(&p["prf_output"])).unwrap();
                Unlock::Passkey {
                    credential_id: &credential,
                    prf_output: &prf,
                }
            } else if let Some(c) = unlock.get("recovery_code") {
                code = RecoveryCode::parse(c.as_str().unwrap()).unwrap();
                Unlock::RecoveryCode(&code)
            } else {
                let d = &unlock["device"];
                device_key = <[u8; 32]>::try_from(unhex(&d["key"])).unwrap();
                Unlock::Device {
                    device_id: d["device_id"].as_str().unwrap(),
                    key: &device_key,
                }
            };
            match vault.unlock(&secret) {
                Ok((keys, _)) => {
                    assert!(v["expected"]["ok"].is_object(), "{name}");
                    assert_eq!(
                        keys.bundle().to_bytes(),
                        unhex(&v["expected_bundle"]),
                        "{name}"
                    );
                }
                Err(_) => expect_error(name, v, Some("DecryptError".into())),
            }
        }
        "recovery_code" => {
            let error = RecoveryCode::parse(v["typed"].as_str().unwrap()).err();
            expect_error(name, v, error.map(|e| format!("{e:?}")));
        }
        other => panic!("{name}: unknown kind {other}"),
    }
}

/// Re-encrypts a stream vector's pattern plaintext under its key and header.
fn rebuild_stream(v: &Value) -> (FileKey, Vec<u8>) {
    let file_key = FileKey::from_bytes(unhex(&v["file_key"]).try_into().unwrap());
    let header = StreamHeader::from_bytes(&unhex(&v["header"])).unwrap();
    let len = usize::try_from(v["plaintext_len"].as_u64().unwrap()).unwrap();
    let plaintext = plaintext_pattern(len);
    let encryptor = Encryptor::resume(&file_key, header, len as u64);
    let mut out = header.to_bytes().to_vec();
    for index in 0..encryptor.chunk_count() {
        let start = usize::try_from(index).unwrap() * stream::CHUNK_SIZE;
        let end = (start + stream::CHUNK_SIZE).min(len);
        out.extend_from_slice(
            &encryptor
                .encrypt_chunk(index, &plaintext[start..end])
                .unwrap(),
        );
    }
    (file_key, out)
}
