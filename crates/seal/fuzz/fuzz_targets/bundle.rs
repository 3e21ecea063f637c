//! Any bytes: parsing a bundle never panics, and what parses re-encodes to
//! exactly the same bytes (the format is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_seal::keys::PublicBundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PublicBundle::from_bytes(data) {
        assert_eq!(bundle.to_bytes(), data);
        let _ = bundle.safety_number().to_string();
    }
});
