//! Any bytes: parsing and opening an envelope never panics; what parses
//! re-encodes identically.
#![no_main]

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use libfuzzer_sys::fuzz_target;
use ward_seal::envelope::Envelope;
use ward_seal::keys::AccountKeys;
use ward_seal::rand_core::SeedableRng;
use ward_seal::thread_key::ThreadKey;

fn fixture() -> &'static (AccountKeys, ThreadKey) {
    static FIXTURE: OnceLock<(AccountKeys, ThreadKey)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let sender = AccountKeys::generate("patient-7f3a", 1, &mut rng).expect("valid id");
        (sender, ThreadKey::from_bytes([2; 32]))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::from_bytes(data) {
        assert_eq!(envelope.to_bytes(), data);
        let (sender, key) = fixture();
        let thread = envelope.header().thread_id.clone();
        let _ = envelope.open(key, &thread, sender.bundle());
    }
});
