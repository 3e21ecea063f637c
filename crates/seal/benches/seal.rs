//! Host benchmarks (`cargo bench -p ward-seal`, or `cargo xtask bench`).
//! Numbers are recorded in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(not(target_arch = "wasm32"))]
mod workload;

// Criterion does not build for wasm32; the browser numbers come from
// tests/browser_bench.rs.
#[cfg(not(target_arch = "wasm32"))]
mod host {
    use super::workload::*;
    use std::hint::black_box;

    use criterion::{Criterion, Throughput, criterion_group};
    use ward_seal::envelope::Envelope;
    use ward_seal::random::os_rng;
    use ward_seal::stream::FileKey;

    fn messages(c: &mut Criterion) {
        let f = fixture();
        let sealed = seal_message(&f, 0).to_bytes();
        let mut group = c.benchmark_group("message 1 KiB");
        group.throughput(Throughput::Elements(1));
        group.bench_function("seal", |b| b.iter(|| black_box(seal_message(&f, 0))));
        group.bench_function("open", |b| {
            b.iter(|| black_box(open_message(&f, &Envelope::from_bytes(&sealed).unwrap())))
        });
        group.finish();

        let thread = thread(&f, THREAD_MESSAGES);
        let mut group = c.benchmark_group("thread");
        group.sample_size(10);
        group.throughput(Throughput::Elements(THREAD_MESSAGES as u64));
        group.bench_function("open 10000 messages", |b| {
            b.iter(|| black_box(open_thread(&f, &thread)))
        });
        group.finish();

        let mut group = c.benchmark_group("thread key");
        group.bench_function("seal to 5 members", |b| {
            b.iter(|| black_box(seal_key_to_members(&f)))
        });
        group.finish();
    }

    fn attachments(c: &mut Criterion) {
        let key = FileKey::generate(&mut os_rng());
        let plaintext = file();
        let encrypted = encrypt_file(&key, &plaintext);
        let mut group = c.benchmark_group("attachment 10 MiB");
        group.sample_size(10);
        group.throughput(Throughput::Bytes(FILE_BYTES as u64));
        group.bench_function("encrypt", |b| {
            b.iter(|| black_box(encrypt_file(&key, &plaintext)))
        });
        group.bench_function("decrypt", |b| {
            b.iter(|| black_box(decrypt_file(&key, &encrypted)))
        });
        group.finish();
    }

    criterion_group!(benches, messages, attachments);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(host::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
