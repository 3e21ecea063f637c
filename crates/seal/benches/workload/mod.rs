//! The workloads measured on the host (criterion, `benches/seal.rs`) and in
//! Chromium (`tests/browser_bench.rs`), written once so both measure the same
//! thing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ward_seal::envelope::{self, Envelope, Header};
use ward_seal::keys::{AccountKeys, PublicBundle};
use ward_seal::payload::Payload;
use ward_seal::random::os_rng;
use ward_seal::stream::{self, FileKey};
use ward_seal::thread_key::{self, ThreadKey};

pub const MESSAGE_BYTES: usize = 1024;
pub const THREAD_MESSAGES: usize = 10_000;
pub const MEMBERS: usize = 5;
pub const FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug)]
pub struct Fixture {
    pub sender: AccountKeys,
    pub members: Vec<PublicBundle>,
    pub key: ThreadKey,
    pub payload: Payload,
}

pub fn fixture() -> Fixture {
    let sender = AccountKeys::generate("patient", 1, &mut os_rng()).unwrap();
    let members = (0..MEMBERS)
        .map(|i| {
            AccountKeys::generate(&format!("member-{i}"), 1, &mut os_rng())
                .unwrap()
                .bundle()
                .clone()
        })
        .collect();
    Fixture {
        sender,
        members,
        key: ThreadKey::generate(&mut os_rng()),
        payload: Payload::text("x".repeat(MESSAGE_BYTES)),
    }
}

pub fn seal_message(f: &Fixture, n: usize) -> Envelope {
    let header = Header {
        thread_id: "thread".into(),
        epoch: 0,
        message_id: format!("m{n}"),
        sender_id: "patient".into(),
        sent_at_ms: 1,
    };
    envelope::seal(&f.sender, &f.key, header, &f.payload, &mut os_rng()).unwrap()
}

pub fn open_message(f: &Fixture, envelope: &Envelope) -> Payload {
    envelope.open(&f.key, "thread", f.sender.bundle()).unwrap()
}

/// A thread's worth of envelopes, as bytes from the relay.
pub fn thread(f: &Fixture, messages: usize) -> Vec<Vec<u8>> {
    (0..messages)
        .map(|n| seal_message(f, n).to_bytes())
        .collect()
}

/// Parse and open every message of a thread: what opening it costs.
pub fn open_thread(f: &Fixture, thread: &[Vec<u8>]) -> usize {
    thread
        .iter()
        .map(|bytes| {
            open_message(f, &Envelope::from_bytes(bytes).unwrap())
                .text
                .len()
        })
        .sum()
}

pub fn seal_key_to_members(f: &Fixture) -> usize {
    thread_key::seal_to_members(&f.key, "thread", 0, &f.sender, &f.members, &mut os_rng())
        .unwrap()
        .len()
}

pub fn file() -> Vec<u8> {
    (0..FILE_BYTES).map(|i| i as u8).collect()
}

/// Chunk-by-chunk, as the browser does it.
pub fn encrypt_file(key: &FileKey, plaintext: &[u8]) -> Vec<u8> {
    stream::encrypt_all(key, plaintext, &mut os_rng())
}

pub fn decrypt_file(key: &FileKey, encrypted: &[u8]) -> usize {
    stream::decrypt_all(key, encrypted).unwrap().len()
}
