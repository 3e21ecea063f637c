//! Reading and writing the binary formats: big-endian integers, fixed
//! arrays, `str8` (u8 length + UTF-8) and `bytes32` (u32 length + bytes).

/// Input did not parse. Callers map it to their own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A cursor over untrusted bytes. Every read is bounds-checked.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.rest.len() < n {
            return Err(Malformed);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.take(N)?.try_into().map_err(|_| Malformed)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    #[cfg(feature = "open")]
    pub(crate) fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// `u8 length || UTF-8`, length 1 to 255.
    pub(crate) fn str8(&mut self) -> Result<&'a str, Malformed> {
        let len = usize::from(self.u8()?);
        if len == 0 {
            return Err(Malformed);
        }
        std::str::from_utf8(self.take(len)?).map_err(|_| Malformed)
    }

    /// `u32 length || bytes`, at most `max` bytes.
    pub(crate) fn bytes32(&mut self, max: usize) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(self.u32()?).map_err(|_| Malformed)?;
        if len > max {
            return Err(Malformed);
        }
        self.take(len)
    }

    #[cfg(feature = "open")]
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Everything was consumed: trailing bytes are an error, not ignored.
    pub(crate) fn finish(self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

/// Appends `u8 length || s`. Callers have validated `s` with [`check_id`].
pub(crate) fn put_str8(out: &mut Vec<u8>, s: &str) {
    out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(s.as_bytes());
}

/// Appends `u32 length || bytes`.
pub(crate) fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An identifier (account, thread, message, blob) that fits `str8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an identifier must be 1 to 255 bytes of UTF-8")]
pub struct InvalidId;

#[cfg(feature = "open")]
pub(crate) fn check_id(id: &str) -> Result<(), InvalidId> {
    if id.is_empty() || id.len() > 255 {
        Err(InvalidId)
    } else {
        Ok(())
    }
}

impl From<Malformed> for crate::DecryptError {
    fn from(_: Malformed) -> Self {
        crate::DecryptError
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_was_written() {
        let mut out = vec![7];
        put_str8(&mut out, "thread-1");
        put_bytes32(&mut out, b"abc");
        out.extend_from_slice(&42u64.to_be_bytes());
        let mut reader = Reader::new(&out);
        assert_eq!(reader.u8(), Ok(7));
        assert_eq!(reader.str8(), Ok("thread-1"));
        assert_eq!(reader.bytes32(3), Ok(&b"abc"[..]));
        assert_eq!(reader.u64(), Ok(42));
        assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn rejects_short_oversized_empty_and_trailing() {
        assert_eq!(Reader::new(&[0, 0]).u32(), Err(Malformed));
        assert_eq!(
            Reader::new(&[0, 0, 0, 4, 1, 2, 3, 4]).bytes32(3),
            Err(Malformed)
        );
        assert_eq!(Reader::new(&[0]).str8(), Err(Malformed));
        assert_eq!(Reader::new(&[2, 0xff, 0xfe]).str8(), Err(Malformed));
        let mut reader = Reader::new(&[1, 2]);
        let _ = reader.u8();
        assert_eq!(reader.finish(), Err(Malformed));
    }
}
