//! Any bytes: parsing and opening a sealed thread key never panics; what
//! parses re-encodes identically.
#![no_main]

use std::sync::OnceLock;

use chacha20::ChaCha20Rng;
use libfuzzer_sys::fuzz_target;
use ward_seal::keys::AccountKeys;
use ward_seal::rand_core::SeedableRng;
use ward_seal::thread_key::SealedThreadKey;

fn fixture() -> &'static (AccountKeys, AccountKeys) {
    static FIXTURE: OnceLock<(AccountKeys, AccountKeys)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let sealer = AccountKeys::generate("patient-7f3a", 1, &mut rng).expect("valid id");
        let member = AccountKeys::generate("clinic-riverside", 1, &mut rng).expect("valid id");
        (sealer, member)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sealed) = SealedThreadKey::from_bytes(data) {
        assert_eq!(sealed.to_bytes(), data);
        let (sealer, member) = fixture();
        let _ = sealed.open(member, sealer.bundle(), sealed.thread_id(), sealed.epoch());
    }
});
