//! Length-prefixed transcripts: what is signed, what HKDF and HPKE bind.
//!
//! `lp(x) = u32_be(len(x)) || x`; a transcript is `lp(label) || lp(f1) || ...`.
//! Prefixing every field with its length makes the encoding injective: no two
//! different field lists produce the same bytes.

use sha2::{Digest, Sha256};

/// A transcript being built.
pub(crate) struct Transcript(Vec<u8>);

impl Transcript {
    pub(crate) fn new(label: &str) -> Self {
        let mut transcript = Self(Vec::with_capacity(128));
        transcript.push(label.as_bytes());
        transcript
    }

    /// Appends `lp(field)`.
    pub(crate) fn push(&mut self, field: &[u8]) -> &mut Self {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(field);
        self
    }

    #[cfg(feature = "open")]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// SHA-256 of the transcript: what signatures cover.
    pub(crate) fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.0).into()
    }
}
