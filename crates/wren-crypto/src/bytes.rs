//! A tiny, panic-free reader and writer for this crate's fixed byte layouts.
//!
//! Every multi-byte integer is big-endian. Every read checks the remaining
//! length first, so truncated or hostile input yields a [`DecodeError`].

use crate::error::DecodeError;

/// Reads fields off the front of a byte slice, never panicking.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated {
                needed: n - self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads the version byte and checks it.
    pub(crate) fn version(&mut self, supported: u8) -> Result<(), DecodeError> {
        let found = self.u8()?;
        if found == supported {
            Ok(())
        } else {
            Err(DecodeError::UnsupportedVersion { found, supported })
        }
    }

    /// Reads a u16-length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes16(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(DecodeError::TooLong { field, len, max });
        }
        self.take(len)
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Ends the read: trailing bytes are an error.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.rest.len()))
        }
    }
}

/// Appends fields to a byte vector in the layouts the reader expects.
pub(crate) trait Put {
    fn put(&mut self, bytes: &[u8]);
    fn put_u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn put_u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }
    /// A u16-length-prefixed byte string; callers bound `bytes` below 65,536 first.
    fn put_bytes16(&mut self, bytes: &[u8]) {
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        self.put_u16(len);
        self.put(bytes.get(..usize::from(len)).unwrap_or(bytes));
    }
}

impl Put for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_reads_fail_without_panicking() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), Err(DecodeError::Truncated { needed: 1 }));
        let mut r = Reader::new(&[0, 5, 1]);
        assert_eq!(
            r.bytes16("x", 10),
            Err(DecodeError::Truncated { needed: 4 })
        );
    }

    #[test]
    fn length_prefix_over_the_limit_is_rejected_before_reading() {
        let mut r = Reader::new(&[0xff, 0xff]);
        assert_eq!(
            r.bytes16("name", 64),
            Err(DecodeError::TooLong {
                field: "name",
                len: 65_535,
                max: 64
            })
        );
    }

    #[test]
    fn trailing_bytes_and_versions_are_checked() {
        let mut r = Reader::new(&[2, 9]);
        assert_eq!(
            r.version(1),
            Err(DecodeError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
    }
}
