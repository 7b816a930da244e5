//! `/wren/dm/1`: direct messages, a batch of opaque envelopes per request and
//! one acknowledgement per envelope in the response.
//!
//! The byte layouts are specified in docs/protocol.md, Part V. In short (all
//! integers big-endian):
//!
//! ```text
//! request  = 0x01 || count: u16 (1..=MAX_BATCH)
//!                 || count × ( len: u32 (1..=MAX_ENVELOPE_BYTES) || envelope[len] )
//! response = 0x01 || 0x00 || count: u16 (1..=MAX_BATCH) || count × ( kind: u8 || code: u16 )
//!          | 0x01 || 0x01                                        (busy)
//! kind     = 0x00 stored (code 0) | 0x01 rejected (code = reason)
//! ```
//!
//! On the stream each frame is preceded by its length as a `u32`; the
//! reader refuses a length above the frame maximum before allocating.
//!
//! The decoding functions are public so that fuzz targets and tests can
//! feed them hostile input; they never panic and allocate at most the size
//! of their (already bounded) input.

use std::io;

use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;

use crate::error::FrameError;
use crate::frame::{self, Reader};
use crate::limits::{MAX_BATCH, MAX_DM_FRAME_BYTES, MAX_DM_RESPONSE_BYTES, MAX_ENVELOPE_BYTES};

/// The protocol name negotiated on the stream.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/wren/dm/1");

/// Version byte of both frames.
pub const VERSION: u8 = 0x01;

const STATUS_ACKS: u8 = 0x00;
const STATUS_BUSY: u8 = 0x01;
const ACK_STORED: u8 = 0x00;
const ACK_REJECTED: u8 = 0x01;

/// The receiver's verdict on one envelope of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ack {
    /// The receiver stored the envelope durably, or already had it:
    /// duplicates are acknowledged too, so the sender can forget it.
    Stored,
    /// The receiver will never accept this envelope (malformed, unknown
    /// sender, …); the code's meaning is defined by the engine. The sender
    /// should not retry it unchanged.
    Rejected(u16),
}

/// The receiver's answer to a whole batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DirectResponse {
    /// One acknowledgement per envelope, in the request's order.
    Acks(Vec<Ack>),
    /// The receiver processed nothing because it is overloaded; the sender
    /// retries the whole batch later.
    Busy,
}

/// The encoded length of a request frame for `envelopes` (version byte
/// included, the stream's length prefix excluded), whether or not it is
/// within the limits. The engine uses it to split an outbox into batches of
/// at most [`MAX_DM_FRAME_BYTES`].
pub fn request_frame_len(envelopes: &[Vec<u8>]) -> usize {
    envelopes.iter().fold(1 + 2, |len, e| {
        len.saturating_add(4).saturating_add(e.len())
    })
}

/// Checks that `envelopes` form a valid request: 1 to [`MAX_BATCH`]
/// envelopes of 1 to [`MAX_ENVELOPE_BYTES`] bytes each, at most
/// [`MAX_DM_FRAME_BYTES`] in all.
pub fn validate_request(envelopes: &[Vec<u8>]) -> Result<(), FrameError> {
    if envelopes.is_empty() || envelopes.len() > MAX_BATCH {
        return Err(FrameError::BatchCount {
            count: envelopes.len(),
            max: MAX_BATCH,
        });
    }
    if let Some(bad) = envelopes
        .iter()
        .find(|e| e.is_empty() || e.len() > MAX_ENVELOPE_BYTES)
    {
        return Err(FrameError::EnvelopeSize {
            len: bad.len(),
            max: MAX_ENVELOPE_BYTES,
        });
    }
    let len = request_frame_len(envelopes);
    if len > MAX_DM_FRAME_BYTES {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_DM_FRAME_BYTES,
        });
    }
    Ok(())
}

/// Encodes a request frame, after [`validate_request`].
pub fn encode_request(envelopes: &[Vec<u8>]) -> Result<Vec<u8>, FrameError> {
    validate_request(envelopes)?;
    let mut out = Vec::with_capacity(request_frame_len(envelopes));
    out.push(VERSION);
    out.extend_from_slice(&count_u16(envelopes.len())?.to_be_bytes());
    for envelope in envelopes {
        let len = u32::try_from(envelope.len()).map_err(|_| FrameError::EnvelopeSize {
            len: envelope.len(),
            max: MAX_ENVELOPE_BYTES,
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(envelope);
    }
    Ok(out)
}

/// Decodes a request frame: the envelopes, in order.
pub fn decode_request(frame: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut r = frame::open(frame, MAX_DM_FRAME_BYTES, VERSION)?;
    let count = batch_count(&mut r)?;
    let mut envelopes = Vec::with_capacity(count);
    for _ in 0..count {
        let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
        if len == 0 || len > MAX_ENVELOPE_BYTES {
            return Err(FrameError::EnvelopeSize {
                len,
                max: MAX_ENVELOPE_BYTES,
            });
        }
        envelopes.push(r.take(len)?.to_vec());
    }
    r.finish()?;
    Ok(envelopes)
}

/// Encodes a response frame. An `Acks` response needs 1 to [`MAX_BATCH`]
/// acknowledgements.
pub fn encode_response(response: &DirectResponse) -> Result<Vec<u8>, FrameError> {
    match response {
        DirectResponse::Busy => Ok(vec![VERSION, STATUS_BUSY]),
        DirectResponse::Acks(acks) => {
            if acks.is_empty() || acks.len() > MAX_BATCH {
                return Err(FrameError::BatchCount {
                    count: acks.len(),
                    max: MAX_BATCH,
                });
            }
            let mut out = Vec::with_capacity(4 + 3 * acks.len());
            out.extend_from_slice(&[VERSION, STATUS_ACKS]);
            out.extend_from_slice(&count_u16(acks.len())?.to_be_bytes());
            for ack in acks {
                let (kind, code) = match ack {
                    Ack::Stored => (ACK_STORED, 0),
                    Ack::Rejected(code) => (ACK_REJECTED, *code),
                };
                out.push(kind);
                out.extend_from_slice(&code.to_be_bytes());
            }
            Ok(out)
        }
    }
}

/// Decodes a response frame. It does not know the request: the caller
/// checks that the number of acknowledgements matches its batch.
pub fn decode_response(frame: &[u8]) -> Result<DirectResponse, FrameError> {
    let mut r = frame::open(frame, MAX_DM_RESPONSE_BYTES, VERSION)?;
    let response = match r.u8()? {
        STATUS_BUSY => DirectResponse::Busy,
        STATUS_ACKS => {
            let count = batch_count(&mut r)?;
            let mut acks = Vec::with_capacity(count);
            for _ in 0..count {
                let kind = r.u8()?;
                let code = r.u16()?;
                acks.push(match (kind, code) {
                    (ACK_STORED, 0) => Ack::Stored,
                    (ACK_REJECTED, code) => Ack::Rejected(code),
                    _ => return Err(FrameError::InvalidAck),
                });
            }
            DirectResponse::Acks(acks)
        }
        other => return Err(FrameError::UnknownStatus(other)),
    };
    r.finish()?;
    Ok(response)
}

fn batch_count(r: &mut Reader<'_>) -> Result<usize, FrameError> {
    let count = usize::from(r.u16()?);
    if count == 0 || count > MAX_BATCH {
        return Err(FrameError::BatchCount {
            count,
            max: MAX_BATCH,
        });
    }
    Ok(count)
}

fn count_u16(count: usize) -> Result<u16, FrameError> {
    u16::try_from(count).map_err(|_| FrameError::BatchCount {
        count,
        max: MAX_BATCH,
    })
}

/// The request-response codec of `/wren/dm/1`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DmCodec;

impl request_response::Codec for DmCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<Vec<u8>>;
    type Response = DirectResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, MAX_DM_FRAME_BYTES).await?;
        decode_request(&bytes).map_err(frame::invalid_data)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, MAX_DM_RESPONSE_BYTES).await?;
        decode_response(&bytes).map_err(frame::invalid_data)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_request(&request).map_err(frame::invalid_data)?;
        frame::write_frame(io, &bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Self::Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_response(&response).map_err(frame::invalid_data)?;
        frame::write_frame(io, &bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let frame = encode_request(&[vec![0xAA], vec![0xBB, 0xCC]]).unwrap();
        assert_eq!(
            frame,
            [1, 0, 2, 0, 0, 0, 1, 0xAA, 0, 0, 0, 2, 0xBB, 0xCC],
            "version, count, then length-prefixed envelopes"
        );
        assert_eq!(
            frame.len(),
            request_frame_len(&[vec![0xAA], vec![0xBB, 0xCC]])
        );
        assert_eq!(
            decode_request(&frame).unwrap(),
            vec![vec![0xAA], vec![0xBB, 0xCC]]
        );
    }

    #[test]
    fn response_layout() {
        let acks = DirectResponse::Acks(vec![Ack::Stored, Ack::Rejected(0x0102)]);
        let frame = encode_response(&acks).unwrap();
        assert_eq!(frame, [1, 0, 0, 2, 0, 0, 0, 1, 1, 2]);
        assert_eq!(decode_response(&frame).unwrap(), acks);
        assert_eq!(encode_response(&DirectResponse::Busy).unwrap(), [1, 1]);
        assert_eq!(decode_response(&[1, 1]).unwrap(), DirectResponse::Busy);
    }

    #[test]
    fn the_stream_codec_bounds_length_prefixes() {
        use request_response::Codec;
        futures::executor::block_on(async {
            let mut codec = DmCodec;
            let over = u32::try_from(MAX_DM_FRAME_BYTES + 1).unwrap().to_be_bytes();
            let error = codec
                .read_request(&PROTOCOL, &mut &over[..])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            let over = u32::try_from(MAX_DM_RESPONSE_BYTES + 1)
                .unwrap()
                .to_be_bytes();
            let error = codec
                .read_response(&PROTOCOL, &mut &over[..])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);

            let mut stream = futures::io::Cursor::new(Vec::new());
            codec
                .write_request(&PROTOCOL, &mut stream, vec![vec![1, 2]])
                .await
                .unwrap();
            let bytes = stream.into_inner();
            assert_eq!(bytes, [0, 0, 0, 9, 1, 0, 1, 0, 0, 0, 2, 1, 2]);
            let request = codec
                .read_request(&PROTOCOL, &mut &bytes[..])
                .await
                .unwrap();
            assert_eq!(request, vec![vec![1, 2]]);
        });
    }

    #[test]
    fn stored_with_a_code_is_not_canonical() {
        assert_eq!(
            decode_response(&[1, 0, 0, 1, 0, 0, 7]),
            Err(FrameError::InvalidAck)
        );
        assert_eq!(
            decode_response(&[1, 0, 0, 1, 2, 0, 0]),
            Err(FrameError::InvalidAck)
        );
    }
}
