//! The seal crate's behaviour in the browser (headless Chromium), where the
//! client runs it. Host tests cover the same functions natively.
#![cfg(target_arch = "wasm32")]

use ward_seal::padding::{MIN_PADDED_LEN, padded_len};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn padding_matches_the_host_on_wasm32() {
    // wasm32 has a 32-bit usize: the bit arithmetic must agree with the host.
    assert_eq!(padded_len(3), MIN_PADDED_LEN);
    assert_eq!(padded_len(1000), 1024);
    assert_eq!(padded_len(100_000), 100_352);
}
