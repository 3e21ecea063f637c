//! What `Debug` prints for every type that holds a secret: exactly these
//! strings, so a derive slipping in (and printing key bytes) fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;
use ward_seal::keys::AccountKeys;
use ward_seal::payload::{AttachmentRef, Payload};
use ward_seal::recovery::RecoveryCode;
use ward_seal::stream::{Encryptor, FileKey};
use ward_seal::thread_key::ThreadKey;
use ward_seal::vault::{RecoveryParams, Unlock, Vault};

const FAST: RecoveryParams = RecoveryParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};

#[test]
fn debug_output_is_exactly_this() {
    let mut rng = ChaCha20Rng::from_seed([42; 32]);
    let keys = AccountKeys::generate("patient-1", 7, &mut rng).unwrap();
    let safety = keys.bundle().safety_number().to_string();
    assert_eq!(
        format!("{keys:?}"),
        format!("AccountKeys {{ account_id: \"patient-1\", safety_number: \"{safety}\", .. }}")
    );
    assert_eq!(
        format!("{:?}", keys.bundle()),
        format!(
            "PublicBundle {{ account_id: \"patient-1\", created_at: 7, safety_number: \"{safety}\", .. }}"
        )
    );
    assert_eq!(
        format!("{:?}", ThreadKey::from_bytes([9; 32])),
        "ThreadKey(..)"
    );
    assert_eq!(format!("{:?}", FileKey::from_bytes([9; 32])), "FileKey(..)");
    assert_eq!(
        format!(
            "{:?}",
            Encryptor::new(&FileKey::from_bytes([9; 32]), 5, &mut rng)
        ),
        "Encryptor { plaintext_len: 5, .. }"
    );
    let code = RecoveryCode::generate(&mut rng);
    assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
    let (_, vault_key) =
        Vault::create(&keys, &[Unlock::RecoveryCode(&code)], FAST, &mut rng).unwrap();
    assert_eq!(format!("{vault_key:?}"), "VaultKey(..)");
    assert_eq!(
        format!("{:?}", Unlock::RecoveryCode(&code)),
        "Unlock::RecoveryCode(..)"
    );

    let mut payload = Payload::text("I think I'm pregnant");
    payload.attachments.push(AttachmentRef {
        blob_id: "b1".into(),
        name: "scan.pdf".into(),
        media_type: "application/pdf".into(),
        size: 10,
        file_key: [9; 32],
        sha256: [1; 32],
        thumbnail: None,
    });
    assert_eq!(
        format!("{payload:?}"),
        "Payload { quick_reply_options: 0, attachments: 1, .. }"
    );
    assert_eq!(
        format!("{:?}", payload.attachments[0]),
        "AttachmentRef { blob_id: \"b1\", .. }"
    );
}
