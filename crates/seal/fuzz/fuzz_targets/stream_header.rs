//! Any bytes as an encrypted attachment: header parsing, chunk arithmetic
//! and decryption never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_seal::stream::{self, FileKey, StreamHeader};

fuzz_target!(|data: &[u8]| {
    let Some(header_bytes) = data.get(..stream::HEADER_LEN) else {
        let _ = StreamHeader::from_bytes(data);
        return;
    };
    if let Ok(header) = StreamHeader::from_bytes(header_bytes) {
        assert_eq!(header.to_bytes(), header_bytes);
        let key = FileKey::from_bytes([3; 32]);
        let _ = stream::decrypt_all(&key, data);
        // A hostile declared length must not break the range arithmetic.
        for declared in [0, data.len() as u64, u64::MAX, u64::MAX / 2] {
            if let Ok(decryptor) = stream::Decryptor::new(&key, &header, declared) {
                let _ = decryptor.chunk_range(decryptor.chunk_count().saturating_sub(1));
                let _ = decryptor.decrypt_chunk(0, &data[stream::HEADER_LEN..]);
            }
        }
    }
});
