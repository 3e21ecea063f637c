//! RFC 9180 known-answer tests for Ward's HPKE suite, run through
//! `thread_key::hpke_seal` / `hpke_open`: the exact calls that seal thread
//! keys. The vectors are the CFRG's (see the file's comment).

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeS, Serializable};
use rand_core::{Infallible, TryCryptoRng, TryRng};
use serde::Deserialize;

use crate::thread_key::{HpkePrivateKey, HpkePublicKey, hpke_open, hpke_seal};

#[derive(Deserialize)]
struct File {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    mode: u8,
    #[serde(rename = "kem_id")]
    kem_id: u16,
    #[serde(rename = "kdf_id")]
    kdf_id: u16,
    #[serde(rename = "aead_id")]
    aead_id: u16,
    #[serde(rename = "ikmE")]
    ikm_e: String,
    #[serde(rename = "pkRm")]
    pk_rm: String,
    #[serde(rename = "skRm")]
    sk_rm: String,
    enc: String,
    info: String,
    encryptions: Vec<Encryption>,
}

#[derive(Deserialize)]
struct Encryption {
    aad: String,
    ct: String,
    pt: String,
}

/// Hands out fixed bytes: the RFC's `ikmE`, from which HPKE derives the
/// ephemeral key exactly as it does from fresh randomness.
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
        assert!(dst.len() <= self.0.len(), "the vector's ikmE ran out");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}
impl TryCryptoRng for Replay {}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn vectors() -> Vec<Vector> {
    let file: File = serde_json::from_str(include_str!(
        "../tests/vectors/rfc9180-base-x25519-sha256-chacha20poly1305.json"
    ))
    .unwrap();
    assert!(!file.vectors.is_empty());
    for v in &file.vectors {
        // Base mode; DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305.
        assert_eq!(
            (v.mode, v.kem_id, v.kdf_id, v.aead_id),
            (0, 0x0020, 0x0001, 0x0003)
        );
    }
    file.vectors
}

#[test]
fn wards_hpke_call_matches_rfc_9180() {
    for v in vectors() {
        let recipient = HpkePublicKey::from_bytes(&hex(&v.pk_rm)).unwrap();
        let first = &v.encryptions[0];
        let (enc, ct) = hpke_seal(
            &recipient,
            &hex(&v.info),
            &hex(&first.aad),
            &hex(&first.pt),
            &mut Replay(hex(&v.ikm_e)),
        )
        .unwrap();
        assert_eq!(enc.to_vec(), hex(&v.enc));
        assert_eq!(ct, hex(&first.ct));

        let secret = HpkePrivateKey::from_bytes(&hex(&v.sk_rm)).unwrap();
        let opened = hpke_open(&secret, &enc, &hex(&v.info), &hex(&first.aad), &ct).unwrap();
        assert_eq!(*opened, hex(&first.pt));
        // Altered associated data fails.
        assert!(hpke_open(&secret, &enc, &hex(&v.info), b"other", &ct).is_err());
    }
}

#[test]
fn the_hpke_context_matches_every_sequence_number() {
    // Ward seals once per context; this checks the library's whole context
    // schedule (257 encryptions) against the RFC too.
    for v in vectors() {
        let recipient = HpkePublicKey::from_bytes(&hex(&v.pk_rm)).unwrap();
        let (enc, mut ctx) =
            hpke::setup_sender_with_rng::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
                &OpModeS::Base,
                &recipient,
                &hex(&v.info),
                &mut Replay(hex(&v.ikm_e)),
            )
            .unwrap();
        assert_eq!(enc.to_bytes().to_vec(), hex(&v.enc));
        for (seq, e) in v.encryptions.iter().enumerate() {
            assert_eq!(
                ctx.seal(&hex(&e.pt), &hex(&e.aad)).unwrap(),
                hex(&e.ct),
                "sequence {seq}"
            );
        }
    }
}

#[test]
fn a_low_order_enc_is_rejected() {
    let v = &vectors()[0];
    let secret = HpkePrivateKey::from_bytes(&hex(&v.sk_rm)).unwrap();
    // The all-zero point and the order-8 point 0x01 are low order.
    for low in [[0u8; 32], {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    }] {
        assert!(hpke_open(&secret, &low, b"", b"", &[0; 48]).is_err());
    }
}
