//! Any bytes: parsing a vault and trying to unlock it never panics (and never
//! runs an unbounded KDF); what parses re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_seal::vault::{Unlock, Vault};

fuzz_target!(|data: &[u8]| {
    if let Ok(vault) = Vault::from_bytes(data) {
        assert_eq!(vault.to_bytes(), data);
        let key = [7u8; 32];
        let _ = vault.unlock(&Unlock::Device {
            device_id: "device-phone",
            key: &key,
        });
        let prf = [9u8; 32];
        let _ = vault.unlock(&Unlock::Passkey {
            credential_id: b"credential-0001",
            prf_output: &prf,
        });
    }
});
