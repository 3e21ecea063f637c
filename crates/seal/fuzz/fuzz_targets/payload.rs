//! Any bytes: decoding a payload (plain or padded) never panics, and a
//! decoded payload survives encode/decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_seal::payload::Payload;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = Payload::decode(data) {
        let again = Payload::decode(&payload.encode()).expect("re-encoded payload decodes");
        assert_eq!(again, payload);
        let padded = payload.to_padded().expect("fits");
        assert_eq!(Payload::from_padded(&padded).expect("unpads"), payload);
    }
    let _ = Payload::from_padded(data);
});
