//! Property tests: round trips for any input, and "any single bit flip
//! fails" for every sealed format.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::sync::OnceLock;
use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::{AccountKeys, PublicBundle};
use ward_seal::payload::{Payload, QuickReplyOption};
use ward_seal::random::os_rng;
use ward_seal::stream::{self, FileKey};
use ward_seal::thread_key::{self, SealedThreadKey, ThreadKey};
use ward_seal::vault::{RecoveryParams, Unlock, Vault};

struct World {
    patient: AccountKeys,
    clinic: AccountKeys,
    key: ThreadKey,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        patient: AccountKeys::generate("patient", 1, &mut os_rng()).unwrap(),
        clinic: AccountKeys::generate("clinic", 1, &mut os_rng()).unwrap(),
        key: ThreadKey::generate(&mut os_rng()),
    })
}

fn header(message_id: &str) -> Header {
    Header {
        thread_id: "t".into(),
        epoch: 0,
        message_id: message_id.into(),
        sender_id: "patient".into(),
        sent_at_ms: 5,
    }
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let bit = bit % (out.len() * 8);
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_payload_round_trips(
        text in ".{0,300}",
        reply in proptest::option::of("[a-z0-9-]{1,20}"),
        options in proptest::collection::vec(("[a-z]{1,8}", ".{1,40}"), 0..4),
    ) {
        let mut payload = Payload::text(text);
        payload.in_reply_to = reply;
        payload.quick_reply_options = options
            .into_iter()
            .map(|(id, label)| QuickReplyOption { id, label })
            .collect();
        let w = world();
        let sealed = envelope::seal(&w.patient, &w.key, header("m"), &payload, &mut os_rng()).unwrap();
        let opened = Envelope::from_bytes(&sealed.to_bytes()).unwrap().open(&w.key, "t", w.patient.bundle()).unwrap();
        prop_assert_eq!(opened, payload);
    }

    #[test]
    fn any_bit_flip_in_an_envelope_fails(bit in any::<usize>()) {
        let w = world();
        let bytes = envelope::seal(&w.patient, &w.key, header("m"), &Payload::text("hello"), &mut os_rng())
            .unwrap()
            .to_bytes();
        let flipped = flip(&bytes, bit);
        let opened = Envelope::from_bytes(&flipped).and_then(|e| e.open(&w.key, "t", w.patient.bundle()));
        prop_assert!(opened.is_err());
    }

    #[test]
    fn any_bit_flip_in_a_sealed_thread_key_fails(bit in any::<usize>()) {
        let w = world();
        let bytes = thread_key::seal(&w.key, "t", 0, &w.patient, w.clinic.bundle(), &mut os_rng()).unwrap().to_bytes();
        let flipped = flip(&bytes, bit);
        let opened = SealedThreadKey::from_bytes(&flipped).and_then(|s| s.open(&w.clinic, w.patient.bundle(), "t", 0));
        prop_assert!(opened.is_err());
    }

    #[test]
    fn any_bit_flip_in_a_bundle_fails(bit in any::<usize>()) {
        let bytes = world().patient.bundle().to_bytes();
        prop_assert!(PublicBundle::from_bytes(&flip(&bytes, bit)).is_err());
    }

    #[test]
    fn any_file_round_trips_and_any_bit_flip_fails(len in 0usize..200_000, bit in any::<usize>()) {
        let key = FileKey::generate(&mut os_rng());
        let plaintext: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let encrypted = stream::encrypt_all(&key, &plaintext, &mut os_rng());
        prop_assert_eq!(&*stream::decrypt_all(&key, &encrypted).unwrap(), &plaintext);
        prop_assert!(stream::decrypt_all(&key, &flip(&encrypted, bit)).is_err());
    }

    #[test]
    fn any_bit_flip_in_a_vault_fails(bit in any::<usize>()) {
        let w = world();
        let prf = [4u8; 32];
        let unlock = Unlock::Passkey { credential_id: b"c", prf_output: &prf };
        let params = RecoveryParams { m_cost_kib: 8, t_cost: 1, p_cost: 1 };
        let (vault, _) = Vault::create(&w.patient, std::slice::from_ref(&unlock), params, &mut os_rng()).unwrap();
        let flipped = flip(&vault.to_bytes(), bit);
        prop_assert!(Vault::from_bytes(&flipped).and_then(|v| v.unlock(&unlock).map(|_| ())).is_err());
    }
}
