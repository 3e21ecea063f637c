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
use ed25519_dalek::Signer;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::key_history::{self, HistoryEntry, HistoryError, KeyHead, Pin, Verdict};
use ward_seal::keys::{AccountKeys, KeysError, PublicBundle};
use ward_seal::payload::{
    AttachmentRef, Category, Payload, QuickReplyChosen, QuickReplyOption, SeenKeyHead,
};
use ward_seal::rand_core::{Infallible, TryCryptoRng, TryRng};
use ward_seal::recovery::{RecoveryCode, RecoveryCodeError};
use ward_seal::stream::{self, Encryptor, FileKey, StreamHeader};
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};
use ward_seal::vault::{RecoveryParams, Unlock, Vault};
use ward_seal::{keyfile, payload::PayloadError};

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

fn pin_from(value: &Value) -> Option<Pin> {
    if value.is_null() {
        return None;
    }
    Some(Pin {
        bundle: unhex(&value["bundle"]),
        head: (!value["head"].is_null()).then(|| KeyHead {
            seq: value["head"]["seq"].as_u64().unwrap(),
            hash: unhex(&value["head"]["hash"]).try_into().unwrap(),
        }),
    })
}

fn verdict_json(verdict: &Verdict) -> Value {
    match verdict {
        Verdict::FirstUse(head) => json!({"verdict": "first_use", "head": head_json(head)}),
        Verdict::Same(head) => json!({"verdict": "same", "head": head_json(head)}),
        Verdict::Changed(head) => json!({"verdict": "changed", "head": head_json(head)}),
        Verdict::Rewritten => json!({"verdict": "rewritten"}),
    }
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

/// `T(label, f1, ..., fn)` of crypto.md §2, written out here independently
/// of the crate.
fn transcript(label: &str, fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in std::iter::once(label.as_bytes()).chain(fields.iter().copied()) {
        out.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// Ed25519 over `H(transcript)` with `keys`' seed (the last 32 bytes of
/// its secret keys), as a malicious member would sign a lie.
fn sign_as(keys: &AccountKeys, transcript: &[u8]) -> [u8; 64] {
    let secret = keys.to_secret_bytes();
    let seed: [u8; 32] = secret[secret.len() - 32..].try_into().unwrap();
    let digest: [u8; 32] = Sha256::digest(transcript).into();
    ed25519_dalek::SigningKey::from_bytes(&seed)
        .sign(&digest)
        .to_bytes()
}

/// Hands out fixed bytes: HPKE's ephemeral `ikmE`, so a vector's `enc` and
/// `ct` can be derived again exactly.
struct Replay(Vec<u8>);

impl TryRng for Replay {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(dst.len() <= self.0.len(), "the vector's ikm_e ran out");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}
impl TryCryptoRng for Replay {}

/// The 32 bytes HPKE will draw next from `r` as its ephemeral `ikmE`.
fn peek_ikm_e(r: &ChaCha20Rng) -> [u8; 32] {
    let mut probe = ChaCha20Rng::deserialize_state(&r.serialize_state());
    let mut ikm = [0u8; 32];
    ward_seal::rand_core::Rng::fill_bytes(&mut probe, &mut ikm);
    ikm
}

/// Encodings `y = p + k` (`p = 2^255 - 19`) that ed25519-dalek decodes to a
/// point of large order: a valid point, written non-canonically.
fn non_canonical_ed25519() -> [u8; 32] {
    for k in 0..19u8 {
        let mut bytes = [0xffu8; 32];
        bytes[0] = 0xed + k;
        bytes[31] = 0x7f;
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            && !key.is_weak()
        {
            return bytes;
        }
    }
    panic!("no non-canonical large-order encoding found")
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

    let non_canonical = splice(
        &patient.bundle().to_bytes(),
        patient.bundle().ed25519_public(),
        &non_canonical_ed25519(),
    );
    add(
        "bundle-non-canonical-ed25519",
        json!({
            "comment": "bundle-valid with its Ed25519 key replaced by a non-canonical encoding (y = p + k with p = 2^255 - 19; the smallest k whose point exists and is of large order): the point is valid, but RFC 8032 §5.1.3 refuses a y at or above p, and so does Ward, as a weak key, before the signature is checked.",
            "kind": "bundle",
            "account": {"bundle": h(&non_canonical)},
            "expected": {"error": "WeakKey"},
        }),
    );

    // Relay login (§9a).
    let challenge = [0x3cu8; 32];
    let login = patient.sign_login(&challenge);
    let base = json!({
        "kind": "login",
        "account": {"bundle": h(&patient.bundle().to_bytes())},
        "account_id": "patient-7f3a",
        "challenge": h(&challenge),
        "signature": h(&login),
    });
    add(
        "login-valid",
        variant(
            &base,
            "A relay login (§9a): Ed25519(esk, H(T(\"ward relay login v1\", account_id, challenge))), verified strictly against the account's bundle.",
            json!({"expected": {"ok": {}}}),
        ),
    );
    add(
        "login-other-challenge",
        variant(
            &base,
            "login-valid's signature presented for another challenge: refused.",
            json!({"challenge": h(&[0x3d; 32]), "expected": {"error": "DecryptError"}}),
        ),
    );

    // Thread keys.
    let mut r = rng("thread-key");
    let patient = account("patient-7f3a", &mut r);
    let clinic = account("clinic-riverside", &mut r);
    let stranger = account("stranger", &mut r);
    let key = ThreadKey::generate(&mut r);
    let ikm_e = peek_ikm_e(&r);
    let sealed =
        thread_key::seal(&key, "thread-0001", 0, &patient, clinic.bundle(), &mut r).unwrap();
    let base = json!({
        "kind": "thread_key",
        "sealer": account_json(&patient),
        "member": account_json(&clinic),
        "thread_id": "thread-0001",
        "epoch": 0,
        "hpke_ikm_e": h(&ikm_e),
        "sealed": h(&sealed.to_bytes()),
    });
    let with = |comment: &str, changes: Value| variant(&base, comment, changes);
    add(
        "thread-key-sealed",
        with(
            "Epoch 0's thread key, sealed by the patient to the clinic (HPKE base mode, signed by the sealer, v2 with the key id). Opens to `thread_key`, whose key id is `key_id`. `hpke_ikm_e` is the ephemeral input keying material: DeriveKeyPair(ikm_e) (RFC 9180 §7.1.3) gives the ephemeral key, so SealBase can be run again to give the same `enc` and ciphertext, and the signature (deterministic) the same bytes.",
            json!({"expected": {"ok": {"thread_key": h(key.expose_bytes()), "key_id": h(&key.key_id("thread-0001", 0))}}}),
        ),
    );
    let key_3 = ThreadKey::generate(&mut r);
    let ikm_e_3 = peek_ikm_e(&r);
    let sealed_3 =
        thread_key::seal(&key_3, "thread-0001", 3, &patient, clinic.bundle(), &mut r).unwrap();
    add(
        "thread-key-epoch-3",
        with(
            "Epoch 3's thread key of the same thread, sealed by the patient to the clinic: the epoch enters the HPKE info, the key id and the signature as u32 3.",
            json!({"epoch": 3, "hpke_ikm_e": h(&ikm_e_3), "sealed": h(&sealed_3.to_bytes()), "expected": {"ok": {"thread_key": h(key_3.expose_bytes()), "key_id": h(&key_3.key_id("thread-0001", 3))}}}),
        ),
    );
    // A malicious sealer: seals another key to the clinic but writes the
    // honest key's id, and signs that correctly.
    let other_key = ThreadKey::generate(&mut r);
    let ikm_e_lie = peek_ikm_e(&r);
    let other = thread_key::seal(
        &other_key,
        "thread-0001",
        0,
        &patient,
        clinic.bundle(),
        &mut r,
    )
    .unwrap();
    let mut lie = splice(&other.to_bytes(), other.key_id(), sealed.key_id());
    let signed_len = lie.len() - 64;
    let enc_at = signed_len - 48 - 32;
    let lie_sig = sign_as(
        &patient,
        &transcript(
            "ward sealed thread key v2",
            &[
                &[2],
                b"thread-0001",
                &0u32.to_be_bytes(),
                b"clinic-riverside",
                b"patient-7f3a",
                sealed.key_id(),
                &lie[enc_at..enc_at + 32],
                &lie[enc_at + 32..signed_len],
            ],
        ),
    );
    lie[signed_len..].copy_from_slice(&lie_sig);
    add(
        "thread-key-wrong-key-id",
        with(
            "A sealer's lie: another key sealed to the clinic, carrying thread-key-sealed's key id, with a valid signature over it. The HPKE opens, but the key's own id differs from the one written: refused (two members can never be made to hold different keys under one key id).",
            json!({"hpke_ikm_e": h(&ikm_e_lie), "sealed": h(&lie), "expected": {"error": "DecryptError"}}),
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
    // Another envelope by the same sender: its signature is well formed
    // (R decodes, is not of small order, S < L) but is over another
    // transcript, so only the verification equation can refuse it.
    let other_env = envelope::seal(
        &patient,
        &key,
        header("msg-0042", "patient-7f3a"),
        &Payload::text("Is my prescription ready to pick up?"),
        &mut r,
    )
    .unwrap()
    .to_bytes();
    let mut wrong_sig = text_env.to_bytes();
    let sig_at = wrong_sig.len() - 64;
    wrong_sig[sig_at..].copy_from_slice(&other_env[other_env.len() - 64..]);
    add(
        "envelope-bad-signature",
        with(
            "envelope-text carrying the signature of another envelope by the same sender (same ids, another salt): R decodes and is not of small order, S < L, so parsing and the range checks pass and the verification equation fails.",
            json!({"envelope": h(&wrong_sig), "expected": {"error": "DecryptError"}}),
        ),
    );
    // The sender claims another key's id for envelope-text, re-signed.
    let text_bytes = text_env.to_bytes();
    let lying_id = ThreadKey::generate(&mut r).key_id("thread-0001", 2);
    let mut lying = splice(&text_bytes, text_env.key_id(), &lying_id);
    let ct_len = text_env_ct_len(&text_bytes);
    let ct_start = lying.len() - 64 - ct_len;
    let salt_start = ct_start - 4 - 32;
    let lie_sig = sign_as(
        &patient,
        &transcript(
            "ward envelope v2",
            &[
                &[2],
                b"thread-0001",
                &2u32.to_be_bytes(),
                &lying_id,
                b"msg-0042",
                b"patient-7f3a",
                &SENT_AT_MS.to_be_bytes(),
                &lying[salt_start..salt_start + 32],
                &lying[ct_start..ct_start + ct_len],
            ],
        ),
    );
    let sig_at = lying.len() - 64;
    lying[sig_at..].copy_from_slice(&lie_sig);
    add(
        "envelope-wrong-key-id",
        with(
            "envelope-text with its key id replaced by another key's and the signature made again by the sender over the changed header: the signature verifies, but the key id is not the reader's key's, so it is refused before the AEAD.",
            json!({"envelope": h(&lying), "expected": {"error": "DecryptError"}}),
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
            json!({"envelope": h(&splice(&text_env.to_bytes(), &[&[0, 0, 0, 2][..], text_env.key_id()].concat(), &[&[0, 0, 0, 3][..], text_env.key_id()].concat())), "expected": {"error": "DecryptError"}}),
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
            "comment": "A payload with a field of unknown tag 0x0100 (from a newer client): the field is skipped. Encoding the decoded payload again drops it, so `reencoded` (not `encoded`) is what encode(ok) gives.",
            "kind": "payload",
            "encoded": h(&future),
            "reencoded": h(&Payload::text("hi").encode()),
            "expected": {"ok": payload_json(&Payload::text("hi"))},
        }),
    );
    // Malformed payloads, each decoded on its own (not padded).
    let text_field = |t: &[u8]| -> Vec<u8> {
        let mut f = vec![0, 1];
        f.extend_from_slice(&u32::try_from(t.len()).unwrap().to_be_bytes());
        f.extend_from_slice(t);
        f
    };
    let bad_payloads: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "payload-missing-text",
            vec![1],
            "Malformed",
            "Version 1 and no fields: the text field (tag 1) is required exactly once.",
        ),
        (
            "payload-duplicate-text",
            [&[1][..], &text_field(b"a"), &text_field(b"b")].concat(),
            "Malformed",
            "The text field (tag 1) twice: a known field that may appear once, appearing twice, is an error.",
        ),
        (
            "payload-bad-utf8",
            [&[1][..], &text_field(&[0xff, 0xfe])].concat(),
            "Malformed",
            "A text value that is not UTF-8.",
        ),
        (
            "payload-wrong-version",
            [&[2][..], &text_field(b"hi")].concat(),
            "Malformed",
            "A payload whose version byte is 2.",
        ),
        (
            "payload-field-past-end",
            [&[1][..], &[0, 1, 0, 0, 0, 9], b"hi"].concat(),
            "Malformed",
            "A text field whose length (9) runs past the end.",
        ),
        (
            "payload-category-two-bytes",
            [&[1][..], &text_field(b"hi"), &[0, 6, 0, 0, 0, 2, 1, 1]].concat(),
            "Malformed",
            "A category (tag 6) of 2 bytes: it must be exactly 1.",
        ),
        (
            "payload-nested-trailing",
            [
                &[1][..],
                &text_field(b"hi"),
                &[0, 3, 0, 0, 0, 15],
                &[0, 1, 0, 0, 0, 1, b'a'],
                &[0, 2, 0, 0, 0, 1, b'b'],
                &[0],
            ]
            .concat(),
            "Malformed",
            "A quick-reply option (tag 3) whose nested field list leaves one byte that is not a whole field.",
        ),
        (
            "payload-too-large",
            [&[1][..], &text_field(&vec![b'a'; 524_288])].concat(),
            "TooLarge",
            "An encoded payload of 524 294 bytes: over the 524 288-byte limit, refused before it is parsed.",
        ),
    ];
    for (name, encoded, error, comment) in bad_payloads {
        assert_eq!(
            Payload::decode(&encoded).err().map(|e| format!("{e:?}")),
            Some(error.to_owned()),
            "{name}"
        );
        let mut value = json!({
            "comment": comment,
            "kind": "payload",
            "encoded": h(&encoded),
            "expected": {"error": error},
        });
        if encoded.len() > 4096 {
            // Too big to write out: the first 7 bytes, then `append`.
            value["encoded"] = json!(h(&encoded[..7]));
            value["append"] = json!({"byte": "61", "count": encoded.len() - 7});
        }
        add(name, value);
    }
    // Bad padding, each around payload-full's padded form.
    let padded = full.to_padded().unwrap().to_vec();
    let mut nonzero = padded.clone();
    *nonzero.last_mut().unwrap() = 1;
    let long = [&padded[..], &[0u8; 16][..]].concat();
    let short = padded[..padded.len() - 1].to_vec();
    let mut overlong = padded.clone();
    overlong[..4].copy_from_slice(&u32::try_from(padded.len()).unwrap().to_be_bytes());
    for (name, bytes, comment) in [
        (
            "padding-nonzero",
            nonzero,
            "payload-full's padded form with its last padding byte set to 1: every padding byte must be zero.",
        ),
        (
            "padding-too-long",
            long,
            "payload-full's padded form with 16 more zero bytes: the total must be exactly padded_len(4 + len).",
        ),
        (
            "padding-too-short",
            short,
            "payload-full's padded form without its last byte.",
        ),
        (
            "padding-length-past-end",
            overlong,
            "payload-full's padded form with a length prefix equal to the whole padded length: the payload would run past the end.",
        ),
    ] {
        assert!(Payload::from_padded(&bytes).is_err(), "{name}");
        add(
            name,
            json!({
                "comment": comment,
                "kind": "padded_payload",
                "padded": h(&bytes),
                "expected": {"error": "Malformed"},
            }),
        );
    }
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

    // The pinning rule (§3a): key_history::judge.
    let mut aba = chain.clone();
    let back = key_history::next_entry(aba.last(), bundles[0].clone());
    aba.push(back);
    let pin_json = |entries: &[HistoryEntry], seq: usize| json!({"bundle": h(&entries[seq].bundle), "head": {"seq": entries[seq].seq, "hash": h(&entries[seq].hash)}});
    let judge_base = json!({
        "kind": "pin_judge",
        "account_id": "patient-7f3a",
        "entries": history_json(&chain),
    });
    let cases: Vec<(&str, &str, Vec<HistoryEntry>, Value)> = vec![
        (
            "pin-first-use",
            "Nothing pinned: first use; pin the current bundle at the head.",
            chain.clone(),
            Value::Null,
        ),
        (
            "pin-same",
            "Pinned the current bundle at the head: same.",
            chain.clone(),
            pin_json(&chain, 2),
        ),
        (
            "pin-changed",
            "Pinned entry 0's bundle; the history extends that head and now ends in another bundle: changed (hold sending until a person confirms).",
            chain.clone(),
            pin_json(&chain, 0),
        ),
        (
            "pin-changed-back",
            "Pinned entry 0's bundle (A); the history goes A, B, C, A: the current bundle is the pinned one again, but at a later seq, so keys nobody confirmed were current in between: changed, not same.",
            aba.clone(),
            pin_json(&aba, 0),
        ),
        (
            "pin-headless-repeated",
            "A pin without a head (kept from before key history) of a bundle that appears twice in the history (A, B, C, A): which entry was pinned is unknown, so changed.",
            aba.clone(),
            json!({"bundle": h(&aba[0].bundle), "head": null}),
        ),
        (
            "pin-rewritten",
            "Pinned entry 1 of pin-same's history; the history served replaced entry 1 and rehashed from there: it does not extend the pinned head, so rewritten (refuse the account).",
            rewritten.clone(),
            pin_json(&chain, 1),
        ),
    ];
    for (name, comment, entries, pinned) in cases {
        let verified = key_history::verify("patient-7f3a", &entries).unwrap();
        let pin = pin_from(&pinned);
        let verdict = key_history::judge(pin.as_ref(), &verified);
        add(
            name,
            variant(
                &judge_base,
                comment,
                json!({"entries": history_json(&entries), "pinned": pinned, "expected": {"ok": verdict_json(&verdict)}}),
            ),
        );
    }

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
            "comment": "padded_len(L) for lengths around every rule boundary (L includes the 4-byte length prefix): each pair is [L, padded_len(L)].",
            "kind": "padding",
            "sizes": sizes,
            "expected": {"ok": {}},
        }),
    );

    // Attachment streams.
    let mut r = rng("stream");
    for (name, len, comment) in [
        (
            "stream-empty",
            0usize,
            "A 0-byte file: one empty final chunk (16 bytes, the tag alone).",
        ),
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
        (
            "stream-exact-chunk",
            "empty_final_chunk",
            "stream-exact-chunk's 65 536 bytes encrypted instead as a non-final chunk 0 followed by an empty final chunk 1 (each sealed correctly under the payload key for length 65 536): a final chunk may be empty only when it is the only chunk, so the length rule refuses it.",
        ),
        (
            "stream-one-chunk",
            "header_version_1",
            "stream-one-chunk with its header's version byte changed from 2 to 1: refused by the version check, and, for an implementation that would read both, the header is in the payload key's HKDF info, so every chunk fails.",
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
    // Parse rules (§8): each refused before any KDF runs, whatever the
    // unlock method. Wraps here: passkey (80 bytes), recovery (89), device
    // (74), after the count byte.
    let bytes = vault.to_bytes();
    let wraps_at = bytes.len() - 243;
    let count_at = wraps_at - 1;
    assert_eq!(bytes[count_at], 3);
    let recovery_wrap = bytes[wraps_at + 80..wraps_at + 169].to_vec();
    let passkey_wrap = bytes[wraps_at..wraps_at + 80].to_vec();
    let with_extra = |wrap: &[u8]| {
        let mut out = bytes.clone();
        out[count_at] = 4;
        out.extend_from_slice(wrap);
        out
    };
    let with_params = |m: u32, t: u32, p: u32| {
        let mut out = bytes.clone();
        let at = wraps_at + 80 + 1 + 16;
        out[at..at + 4].copy_from_slice(&m.to_be_bytes());
        out[at + 4..at + 8].copy_from_slice(&t.to_be_bytes());
        out[at + 8..at + 12].copy_from_slice(&p.to_be_bytes());
        out
    };
    let mut unknown_method = bytes.clone();
    unknown_method[wraps_at + 169] = 4;
    let mut empty_credential = bytes.clone();
    empty_credential.splice(wraps_at + 1..wraps_at + 5 + 15, [0u8, 0, 0, 0]);
    let mut no_wraps = bytes[..count_at].to_vec();
    no_wraps.push(0);
    let code_unlock = json!({"recovery_code": code.reveal().as_str()});
    for (name, bad, comment) in [
        (
            "vault-duplicate-recovery-wrap",
            with_extra(&recovery_wrap),
            "The vault with a second copy of its recovery-code wrap appended (count 4): two wraps in one slot are refused when parsing.",
        ),
        (
            "vault-duplicate-passkey-wrap",
            with_extra(&passkey_wrap),
            "The vault with a second wrap for credential id credential-0001 appended: refused when parsing.",
        ),
        (
            "vault-argon2-m-too-large",
            with_params(262_145, 1, 1),
            "The recovery wrap's m_kib set to 262 145 (the limit is 262 144): refused when parsing, before any KDF runs.",
        ),
        (
            "vault-argon2-t-zero",
            with_params(8, 0, 1),
            "The recovery wrap's t set to 0 (1 <= t <= 10): refused when parsing.",
        ),
        (
            "vault-argon2-t-too-large",
            with_params(8, 11, 1),
            "The recovery wrap's t set to 11 (1 <= t <= 10): refused when parsing.",
        ),
        (
            "vault-argon2-p-too-large",
            with_params(64, 1, 5),
            "The recovery wrap's p set to 5 (1 <= p <= 4): refused when parsing.",
        ),
        (
            "vault-argon2-m-below-8p",
            with_params(15, 1, 2),
            "The recovery wrap's m_kib = 15 with p = 2 (Argon2 needs m_kib >= 8p): refused when parsing.",
        ),
        (
            "vault-unknown-method",
            unknown_method,
            "The device wrap's method byte changed from 0x03 to 0x04 (a kind no version defines): the whole vault is refused when parsing, even for a reader who meant to use another method.",
        ),
        (
            "vault-empty-credential-id",
            empty_credential,
            "The passkey wrap's credential id cut to 0 bytes: refused when parsing (1 to 1023 bytes).",
        ),
        (
            "vault-no-wraps",
            no_wraps,
            "The vault with its wrap count set to 0 and no wraps: refused (count is 1 to 32).",
        ),
    ] {
        assert!(Vault::from_bytes(&bad).is_err(), "{name}");
        add(
            name,
            with(
                comment,
                json!({"vault": h(&bad), "unlock": code_unlock, "expected": {"error": "DecryptError"}}),
            ),
        );
    }

    // A later generation: the account keys rotated twice (each a reseal
    // under the same vault key), then rekeyed (a fresh vault key).
    let mut r = rng("vault-generation");
    let first = account("patient-7f3a", &mut r);
    let (mut later, later_key) = Vault::create(
        &first,
        std::slice::from_ref(&passkey),
        VECTOR_PARAMS,
        &mut r,
    )
    .unwrap();
    let rotated = account("patient-7f3a", &mut r);
    later.reseal_secrets(&later_key, &rotated, &mut r).unwrap();
    let rotated = account("patient-7f3a", &mut r);
    later.reseal_secrets(&later_key, &rotated, &mut r).unwrap();
    let (rekeyed, _) = later
        .rekeyed(
            &rotated,
            std::slice::from_ref(&passkey),
            VECTOR_PARAMS,
            &mut r,
        )
        .unwrap();
    assert_eq!(rekeyed.generation(), 3);
    add(
        "vault-generation-3",
        json!({
            "comment": "A vault at generation 3 (keys rotated twice, then rekeyed), opened with the passkey: the generation is in the secrets' associated data, so it is authenticated by a successful unlock.",
            "kind": "vault",
            "vault": h(&rekeyed.to_bytes()),
            "expected_bundle": h(&rotated.bundle().to_bytes()),
            "unlock": {"passkey": {"credential_id": h(b"credential-0001"), "prf_output": h(&prf)}},
            "expected": {"ok": {"generation": 3}},
        }),
    );
    let mut stale = rekeyed.to_bytes();
    let generation_at = 1 + 1 + "patient-7f3a".len();
    stale[generation_at..generation_at + 8].copy_from_slice(&2u64.to_be_bytes());
    add(
        "vault-generation-edited",
        json!({
            "comment": "vault-generation-3 with its generation field rewritten to 2: the wrap opens, the secrets do not (their associated data has the generation).",
            "kind": "vault",
            "vault": h(&stale),
            "expected_bundle": h(&rotated.bundle().to_bytes()),
            "unlock": {"passkey": {"credential_id": h(b"credential-0001"), "prf_output": h(&prf)}},
            "expected": {"error": "DecryptError"},
        }),
    );

    // Recovery codes (§9).
    let shown = code.reveal().to_string();
    add(
        "recovery-code-typo",
        json!({
            "comment": "vault-recovery-code's code with one character changed: the checksum catches it before any KDF runs.",
            "kind": "recovery_code",
            "typed": typo(&shown),
            "expected": {"error": "Typo"},
        }),
    );
    let lenient: String = shown
        .replace('-', " ")
        .to_lowercase()
        .replace('1', "l")
        .replace('0', "O")
        + "\u{3000}\t";
    add(
        "recovery-code-lenient",
        json!({
            "comment": "vault-recovery-code's code typed loosely: groups separated by spaces instead of dashes, lower case, every 1 typed as l and every 0 as O, and an ideographic space (U+3000) and a tab at the end. Parses to the code shown as `ok.code`.",
            "kind": "recovery_code",
            "typed": lenient,
            "expected": {"ok": {"code": shown}},
        }),
    );
    let mut invalid = shown.clone();
    invalid.replace_range(5..6, "u");
    add(
        "recovery-code-invalid-character",
        json!({
            "comment": "vault-recovery-code's code with its fifth code character typed as a lower-case u (U is not in the alphabet): InvalidCharacter carries the character as typed.",
            "kind": "recovery_code",
            "typed": invalid,
            "expected": {"error": "InvalidCharacter", "character": "u"},
        }),
    );
    add(
        "recovery-code-invalid-after-32",
        json!({
            "comment": "A whole valid code followed by a 33rd character that is not in the alphabet: the character check runs over the whole input before the length check, so this is InvalidCharacter, not WrongLength.",
            "kind": "recovery_code",
            "typed": format!("{shown}-*"),
            "expected": {"error": "InvalidCharacter", "character": "*"},
        }),
    );
    add(
        "recovery-code-wrong-length",
        json!({
            "comment": "vault-recovery-code's code without its last group: WrongLength carries the count of code characters (28).",
            "kind": "recovery_code",
            "typed": &shown[..shown.len() - 5],
            "expected": {"error": "WrongLength", "count": 28},
        }),
    );
    add(
        "recovery-code-nbsp-is-space",
        json!({
            "comment": "vault-recovery-code's code with its dashes replaced by U+00A0 (no-break space), which is Unicode White_Space: skipped like a space.",
            "kind": "recovery_code",
            "typed": shown.replace('-', "\u{a0}"),
            "expected": {"ok": {"code": shown}},
        }),
    );
    add(
        "recovery-code-zwsp-is-not-space",
        json!({
            "comment": "vault-recovery-code's code with a zero-width space (U+200B) after the first group: U+200B is not Unicode White_Space, so it is an invalid character.",
            "kind": "recovery_code",
            "typed": shown.replacen('-', "\u{200b}", 1),
            "expected": {"error": "InvalidCharacter", "character": "\u{200b}"},
        }),
    );

    // The clinic agent's key file (§9b).
    let mut r = rng("keyfile");
    let clinic = account("clinic-riverside", &mut r);
    let file = keyfile::seal(
        &clinic,
        "correct horse battery staple",
        VECTOR_PARAMS,
        &mut r,
    )
    .unwrap();
    let base = json!({
        "kind": "keyfile",
        "file": h(&file),
        "passphrase": "correct horse battery staple",
        "expected_bundle": h(&clinic.bundle().to_bytes()),
    });
    add(
        "keyfile-valid",
        variant(
            &base,
            "A clinic key file (§9b) at Argon2id's minimum parameters (m = 8 KiB, t = 1, p = 1, stored in the file): opens with the passphrase, and the secret keys inside rebuild `expected_bundle`.",
            json!({"expected": {"ok": {}}}),
        ),
    );
    add(
        "keyfile-wrong-passphrase",
        variant(
            &base,
            "keyfile-valid with another passphrase: fails like an altered file.",
            json!({"passphrase": "correct horse battery stapler", "expected": {"error": "DecryptError"}}),
        ),
    );
    let mut edited = file.clone();
    edited[31] ^= 0x01;
    add(
        "keyfile-edited-header",
        variant(
            &base,
            "keyfile-valid with one bit of its t parameter flipped (t = 1 becomes 0): refused by the parameter bounds before any KDF runs.",
            json!({"file": h(&edited), "expected": {"error": "DecryptError"}}),
        ),
    );
    files
}

/// The ciphertext length of an envelope: the bytes32 just before the
/// signature, found by walking the fixed-size tail.
fn text_env_ct_len(envelope: &[u8]) -> usize {
    let parsed = Envelope::from_bytes(envelope).unwrap();
    let header_len = 1
        + 1
        + parsed.header().thread_id.len()
        + 4
        + 32
        + 1
        + parsed.header().message_id.len()
        + 1
        + parsed.header().sender_id.len()
        + 8
        + 32;
    envelope.len() - header_len - 4 - 64
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
    assert!(checked >= 90, "only {checked} vectors");
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
            let thread_id = v["thread_id"].as_str().unwrap();
            let epoch = u32::try_from(v["epoch"].as_u64().unwrap()).unwrap();
            let opened = SealedThreadKey::from_bytes(&unhex(&v["sealed"])).and_then(|sealed| {
                sealed.open(
                    &account_from(&v["member"]),
                    &bundle_from(&v["sealer"]),
                    thread_id,
                    epoch,
                )
            });
            match opened {
                Ok(key) => {
                    let ok = &v["expected"]["ok"];
                    assert_eq!(
                        h(key.expose_bytes()),
                        ok["thread_key"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        h(&key.key_id(thread_id, epoch)),
                        ok["key_id"].as_str().unwrap(),
                        "{name}"
                    );
                    // The key id, from the spec's bytes alone.
                    let by_spec = Sha256::digest(transcript(
                        "ward thread key id v2",
                        &[
                            thread_id.as_bytes(),
                            &epoch.to_be_bytes(),
                            key.expose_bytes(),
                        ],
                    ));
                    assert_eq!(h(&by_spec), ok["key_id"].as_str().unwrap(), "{name}");
                    // Sealing again with the recorded ephemeral ikm gives
                    // the very same bytes.
                    let resealed = thread_key::seal(
                        &key,
                        thread_id,
                        epoch,
                        &account_from(&v["sealer"]),
                        &bundle_from(&v["member"]),
                        &mut Replay(unhex(&v["hpke_ikm_e"])),
                    )
                    .unwrap();
                    assert_eq!(
                        h(&resealed.to_bytes()),
                        v["sealed"].as_str().unwrap(),
                        "{name}"
                    );
                }
                Err(_) => expect_error(name, v, Some("DecryptError".into())),
            }
        }
        "login" => {
            let bundle = PublicBundle::from_bytes(&unhex(&v["account"]["bundle"])).unwrap();
            assert_eq!(
                bundle.account_id(),
                v["account_id"].as_str().unwrap(),
                "{name}"
            );
            let result = bundle.verify_login(&unhex(&v["challenge"]), &unhex(&v["signature"]));
            match result {
                Ok(()) => assert!(v["expected"]["ok"].is_object(), "{name}"),
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
            let mut encoded = unhex(&v["encoded"]);
            if !v["append"].is_null() {
                let byte = unhex(&v["append"]["byte"])[0];
                let count = usize::try_from(v["append"]["count"].as_u64().unwrap()).unwrap();
                encoded.resize(encoded.len() + count, byte);
            }
            let decoded = match Payload::decode(&encoded) {
                Ok(decoded) => decoded,
                Err(e) => {
                    let e = match e {
                        PayloadError::Malformed => "Malformed",
                        PayloadError::TooLarge => "TooLarge",
                    };
                    return expect_error(name, v, Some(e.into()));
                }
            };
            assert!(v["expected"]["ok"].is_object(), "{name}");
            assert_eq!(payload_json(&decoded), v["expected"]["ok"], "{name}");
            let canonical = if v["reencoded"].is_null() {
                encoded.clone()
            } else {
                unhex(&v["reencoded"])
            };
            assert_eq!(&*decoded.encode(), &canonical, "{name}");
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
        "padded_payload" => {
            let error = Payload::from_padded(&unhex(&v["padded"]))
                .err()
                .map(|e| format!("{e:?}"));
            expect_error(name, v, error);
        }
        "pin_judge" => {
            let verified = key_history::verify(
                v["account_id"].as_str().unwrap(),
                &history_from(&v["entries"]),
            )
            .unwrap();
            let verdict = key_history::judge(pin_from(&v["pinned"]).as_ref(), &verified);
            assert_eq!(verdict_json(&verdict), v["expected"]["ok"], "{name}");
        }
        "keyfile" => match keyfile::open(&unhex(&v["file"]), v["passphrase"].as_str().unwrap()) {
            Ok(keys) => {
                assert!(v["expected"]["ok"].is_object(), "{name}");
                assert_eq!(
                    keys.bundle().to_bytes(),
                    unhex(&v["expected_bundle"]),
                    "{name}"
                );
            }
            Err(_) => expect_error(name, v, Some("DecryptError".into())),
        },
        "padding" => {
            assert!(v["expected"]["ok"].is_object(), "{name}");
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
                "empty_final_chunk" => {
                    // Built from the spec alone: payload key, then two chunks.
                    let len = u64::try_from(encrypted.len() - hl - 16).unwrap();
                    let info = transcript(
                        "ward attachment v2",
                        &[&encrypted[..hl], &len.to_be_bytes()],
                    );
                    let mut payload_key = [0u8; 32];
                    hkdf::Hkdf::<Sha256>::new(Some(&encrypted[1..hl]), &file_key.to_bytes())
                        .expand(&info, &mut payload_key)
                        .unwrap();
                    let cipher =
                        <chacha20poly1305::ChaCha20Poly1305 as chacha20poly1305::KeyInit>::new(
                            (&payload_key).into(),
                        );
                    let seal = |index: u8, last: u8, pt: &[u8]| {
                        let mut nonce = [0u8; 12];
                        nonce[10] = index;
                        nonce[11] = last;
                        chacha20poly1305::aead::Aead::encrypt(&cipher, (&nonce).into(), pt).unwrap()
                    };
                    // Sanity: the honest final chunk is what the file holds.
                    assert_eq!(
                        seal(0, 1, &plaintext_pattern(stream::CHUNK_SIZE)),
                        encrypted[hl..]
                    );
                    let mut out = encrypted[..hl].to_vec();
                    out.extend_from_slice(&seal(0, 0, &plaintext_pattern(stream::CHUNK_SIZE)));
                    out.extend_from_slice(&seal(1, 1, &[]));
                    out
                }
                "header_version_1" => {
                    let mut out = encrypted.clone();
                    out[0] = 1;
                    out
                }
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
            let vault = match Vault::from_bytes(&unhex(&v["vault"])) {
                Ok(vault) => vault,
                Err(_) => return expect_error(name, v, Some("DecryptError".into())),
            };
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
                    let ok = &v["expected"]["ok"];
                    assert!(ok.is_object(), "{name}");
                    assert_eq!(
                        keys.bundle().to_bytes(),
                        unhex(&v["expected_bundle"]),
                        "{name}"
                    );
                    if !ok["generation"].is_null() {
                        assert_eq!(
                            Some(vault.generation()),
                            ok["generation"].as_u64(),
                            "{name}"
                        );
                    }
                }
                Err(_) => expect_error(name, v, Some("DecryptError".into())),
            }
        }
        "recovery_code" => match RecoveryCode::parse(v["typed"].as_str().unwrap()) {
            Ok(code) => assert_eq!(
                code.reveal().as_str(),
                v["expected"]["ok"]["code"].as_str().unwrap(),
                "{name}"
            ),
            Err(e) => {
                let (kind, detail) = match e {
                    RecoveryCodeError::Typo => ("Typo", None),
                    RecoveryCodeError::WrongLength(n) => ("WrongLength", Some(("count", json!(n)))),
                    RecoveryCodeError::InvalidCharacter(c) => (
                        "InvalidCharacter",
                        Some(("character", json!(c.to_string()))),
                    ),
                };
                expect_error(name, v, Some(kind.into()));
                if let Some((field, value)) = detail {
                    assert_eq!(v["expected"][field], value, "{name}");
                }
            }
        },
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
