//! Length-delimited frames on a stream, and a panic-free reader for their
//! contents.
//!
//! Each request-response stream carries one request frame and one response
//! frame, each preceded by its length as a big-endian `u32`. The reader
//! checks the length against the frame kind's maximum *before* allocating,
//! so a hostile length prefix costs nothing.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::FrameError;

/// Reads one length-prefixed frame of at most `max` bytes.
///
/// A length above `max` is refused before anything is allocated or read
/// past the prefix; a stream that ends early is an `UnexpectedEof` error.
pub(crate) async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
    if len > max {
        return Err(invalid_data(FrameError::TooLarge { len, max }));
    }
    let mut frame = vec![0u8; len];
    io.read_exact(&mut frame).await?;
    Ok(frame)
}

/// Writes `frame` with its length prefix and flushes.
pub(crate) async fn write_frame<T>(io: &mut T, frame: &[u8]) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let len = u32::try_from(frame.len()).map_err(|_| {
        invalid_data(FrameError::TooLarge {
            len: frame.len(),
            max: u32::MAX as usize,
        })
    })?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(frame).await?;
    io.flush().await
}

/// Wraps a frame error as an I/O error, the only error a request-response
/// codec may return.
pub(crate) fn invalid_data(error: FrameError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

/// A cursor over a frame that never reads out of bounds.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if n > self.rest.len() {
            return Err(FrameError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Takes one byte.
    pub(crate) fn u8(&mut self) -> Result<u8, FrameError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// Takes a big-endian `u16`.
    pub(crate) fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Takes a big-endian `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Takes a big-endian `u64`.
    pub(crate) fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Takes everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    /// Fails if any byte is left.
    pub(crate) fn finish(self) -> Result<(), FrameError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(FrameError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| FrameError::Truncated)
    }
}

/// Checks a frame's length bounds and version byte, and returns a reader
/// positioned after the version.
pub(crate) fn open(frame: &[u8], max: usize, version: u8) -> Result<Reader<'_>, FrameError> {
    if frame.len() > max {
        return Err(FrameError::TooLarge {
            len: frame.len(),
            max,
        });
    }
    let mut reader = Reader::new(frame);
    let found = reader.u8().map_err(|_| FrameError::Empty)?;
    if found != version {
        return Err(FrameError::UnsupportedVersion {
            found,
            supported: version,
        });
    }
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(FrameError::Truncated));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.u32(), Err(FrameError::Truncated));
        assert_eq!(r.take(1), Err(FrameError::Truncated));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn stream_prefix_over_the_limit_is_refused_before_reading() {
        futures::executor::block_on(async {
            // Claims 4 GiB and provides nothing: refused from the prefix alone.
            let mut input: &[u8] = &[0xFF, 0xFF, 0xFF, 0xFF];
            let err = read_frame(&mut input, 16).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);

            // Exactly the limit is read.
            let mut input: &[u8] = &[0, 0, 0, 2, 7, 8];
            assert_eq!(read_frame(&mut input, 2).await.unwrap(), vec![7, 8]);

            // One past the limit is refused.
            let mut input: &[u8] = &[0, 0, 0, 3, 7, 8, 9];
            assert!(read_frame(&mut input, 2).await.is_err());

            // A stream that ends early is an error, not a short frame.
            let mut input: &[u8] = &[0, 0, 0, 3, 7];
            let err = read_frame(&mut input, 16).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        });
    }

    #[test]
    fn write_then_read_round_trips() {
        futures::executor::block_on(async {
            let mut out = futures::io::Cursor::new(Vec::new());
            write_frame(&mut out, &[5, 6, 7]).await.unwrap();
            let bytes = out.into_inner();
            assert_eq!(bytes, [0, 0, 0, 3, 5, 6, 7]);
            let mut input: &[u8] = &bytes;
            assert_eq!(read_frame(&mut input, 3).await.unwrap(), vec![5, 6, 7]);
        });
    }
}
