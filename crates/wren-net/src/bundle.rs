//! `/wren/bundle/1`: fetching a peer's signed prekey bundle.
//!
//! The byte layouts are specified in docs/protocol.md, Part V:
//!
//! ```text
//! request  = 0x01
//! response = 0x01 || 0x00 || bundle[1..=MAX_BUNDLE_BYTES]   (the bundle)
//!          | 0x01 || 0x01                                   (busy)
//! ```
//!
//! The bundle itself is opaque here: the engine verifies its signature with
//! the cryptography crate. On the stream each frame is preceded by its
//! length as a big-endian `u32`.

use std::io;

use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;

use crate::error::FrameError;
use crate::frame;
use crate::limits::{BUNDLE_REQUEST_BYTES, MAX_BUNDLE_BYTES, MAX_BUNDLE_RESPONSE_BYTES};

/// The protocol name negotiated on the stream.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/wren/bundle/1");

/// Version byte of both frames.
pub const VERSION: u8 = 0x01;

const STATUS_BUNDLE: u8 = 0x00;
const STATUS_BUSY: u8 = 0x01;

/// The answer to a bundle request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BundleResponse {
    /// The peer's current signed prekey bundle (opaque bytes).
    Bundle(Vec<u8>),
    /// The peer is overloaded; retry later.
    Busy,
}

/// Checks that a bundle has 1 to [`MAX_BUNDLE_BYTES`] bytes.
pub fn validate_bundle(bundle: &[u8]) -> Result<(), FrameError> {
    if bundle.is_empty() || bundle.len() > MAX_BUNDLE_BYTES {
        return Err(FrameError::BundleSize {
            len: bundle.len(),
            max: MAX_BUNDLE_BYTES,
        });
    }
    Ok(())
}

/// Encodes the request frame (the version byte alone).
pub fn encode_request() -> Vec<u8> {
    vec![VERSION]
}

/// Decodes a request frame.
pub fn decode_request(frame: &[u8]) -> Result<(), FrameError> {
    frame::open(frame, BUNDLE_REQUEST_BYTES, VERSION)?.finish()
}

/// Encodes a response frame.
pub fn encode_response(response: &BundleResponse) -> Result<Vec<u8>, FrameError> {
    match response {
        BundleResponse::Busy => Ok(vec![VERSION, STATUS_BUSY]),
        BundleResponse::Bundle(bundle) => {
            validate_bundle(bundle)?;
            let mut out = Vec::with_capacity(2 + bundle.len());
            out.extend_from_slice(&[VERSION, STATUS_BUNDLE]);
            out.extend_from_slice(bundle);
            Ok(out)
        }
    }
}

/// Decodes a response frame.
pub fn decode_response(frame: &[u8]) -> Result<BundleResponse, FrameError> {
    let mut r = frame::open(frame, MAX_BUNDLE_RESPONSE_BYTES, VERSION)?;
    match r.u8()? {
        STATUS_BUSY => {
            r.finish()?;
            Ok(BundleResponse::Busy)
        }
        STATUS_BUNDLE => {
            let bundle = r.rest();
            validate_bundle(bundle)?;
            Ok(BundleResponse::Bundle(bundle.to_vec()))
        }
        other => Err(FrameError::UnknownStatus(other)),
    }
}

/// The request-response codec of `/wren/bundle/1`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BundleCodec;

impl request_response::Codec for BundleCodec {
    type Protocol = StreamProtocol;
    type Request = ();
    type Response = BundleResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, BUNDLE_REQUEST_BYTES).await?;
        decode_request(&bytes).map_err(frame::invalid_data)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<BundleResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, MAX_BUNDLE_RESPONSE_BYTES).await?;
        decode_response(&bytes).map_err(frame::invalid_data)
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        frame::write_frame(io, &encode_request()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: BundleResponse,
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
    fn layouts() {
        assert_eq!(encode_request(), [1]);
        assert_eq!(decode_request(&[1]), Ok(()));
        assert_eq!(
            decode_request(&[1, 0]),
            Err(FrameError::TooLarge { len: 2, max: 1 })
        );
        assert!(matches!(
            decode_request(&[2]),
            Err(FrameError::UnsupportedVersion { found: 2, .. })
        ));
        assert_eq!(decode_request(&[]), Err(FrameError::Empty));

        let bundle = BundleResponse::Bundle(vec![9, 8, 7]);
        let frame = encode_response(&bundle).unwrap();
        assert_eq!(frame, [1, 0, 9, 8, 7]);
        assert_eq!(decode_response(&frame).unwrap(), bundle);
        assert_eq!(encode_response(&BundleResponse::Busy).unwrap(), [1, 1]);
        assert_eq!(
            decode_response(&[1, 1, 0]),
            Err(FrameError::TrailingBytes { count: 1 })
        );
        assert_eq!(decode_response(&[1, 2]), Err(FrameError::UnknownStatus(2)));
    }

    #[test]
    fn bundle_size_limit() {
        let max = vec![0u8; MAX_BUNDLE_BYTES];
        let frame = encode_response(&BundleResponse::Bundle(max.clone())).unwrap();
        assert_eq!(
            decode_response(&frame).unwrap(),
            BundleResponse::Bundle(max)
        );

        let over = vec![0u8; MAX_BUNDLE_BYTES + 1];
        assert!(encode_response(&BundleResponse::Bundle(over)).is_err());
        let mut frame = vec![1, 0];
        frame.extend(std::iter::repeat_n(0u8, MAX_BUNDLE_BYTES + 1));
        assert!(decode_response(&frame).is_err());
        assert!(
            decode_response(&[1, 0]).is_err(),
            "an empty bundle is refused"
        );
    }
}
