//! The same workloads as `benches/seal.rs`, timed in headless Chromium with
//! `performance.now()`. Built only with `--features browser-bench`, in
//! release, by `cargo xtask bench`; it reports numbers and asserts only that
//! the work was done (timing is never a pass/fail criterion).
#![cfg(all(target_arch = "wasm32", feature = "browser-bench"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::hint::black_box;

use ward_seal::envelope::Envelope;
use ward_seal::random::os_rng;
use ward_seal::stream::FileKey;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::Instant;
use workload::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs `work` `iterations` times; returns seconds per iteration.
fn time(iterations: u32, mut work: impl FnMut() -> usize) -> f64 {
    let started = Instant::now();
    let mut done = 0;
    for _ in 0..iterations {
        done += black_box(work());
    }
    assert!(done > 0);
    started.elapsed().as_secs_f64() / f64::from(iterations)
}

#[wasm_bindgen_test]
fn browser_benchmarks() {
    let f = fixture();
    let sealed = seal_message(&f, 0).to_bytes();
    let seal = time(200, || seal_message(&f, 0).to_bytes().len());
    let open = time(200, || {
        open_message(&f, &Envelope::from_bytes(&sealed).unwrap())
            .text
            .len()
    });
    console_log!(
        "BENCH message 1 KiB seal: {:.1} µs ({:.0}/s)",
        seal * 1e6,
        1.0 / seal
    );
    console_log!(
        "BENCH message 1 KiB open: {:.1} µs ({:.0}/s)",
        open * 1e6,
        1.0 / open
    );

    let thread = thread(&f, THREAD_MESSAGES);
    let per_thread = time(1, || open_thread(&f, &thread));
    console_log!(
        "BENCH open 10000 messages: {:.2} s ({:.0} msgs/s)",
        per_thread,
        THREAD_MESSAGES as f64 / per_thread
    );

    let per_seal = time(20, || seal_key_to_members(&f));
    console_log!(
        "BENCH seal thread key to 5 members: {:.2} ms",
        per_seal * 1e3
    );

    let key = FileKey::generate(&mut os_rng());
    let plaintext = file();
    let encrypted = encrypt_file(&key, &plaintext);
    let enc = time(3, || encrypt_file(&key, &plaintext).len());
    let dec = time(3, || decrypt_file(&key, &encrypted));
    let mb = FILE_BYTES as f64 / 1e6;
    console_log!("BENCH attachment 10 MiB encrypt: {:.1} MB/s", mb / enc);
    console_log!("BENCH attachment 10 MiB decrypt: {:.1} MB/s", mb / dec);
}
