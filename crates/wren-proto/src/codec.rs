//! The one bounded bincode codec of Wren: the only module that calls bincode.
//!
//! Two layers:
//!
//! - [`encode`] / [`decode`]: a value as bincode 2 (`config::standard()`:
//!   little endian, variable-length integers). [`decode`] refuses input longer
//!   than its `LIMIT`, decodes with a bincode limit of `LIMIT` (so a few bytes
//!   claiming a 2^40-byte vector fail instead of allocating), and refuses
//!   trailing bytes.
//! - [`Versioned`] frames: what crosses the wire is
//!   `[version: u8] || bincode(body)`. [`Versioned::from_bytes`] also checks
//!   the version, refuses unknown enum tags with a typed error, refuses
//!   non-canonical encodings and checks every field bound with
//!   [`Versioned::validate`].
//!
//! # Decoder limit accounting
//!
//! bincode's limit does not count input bytes: it counts what the decoder
//! *claims*. Every integer claims its full width whatever its varint length
//! (`u16` 2, `u32` and enum tags 4, `u64` and lengths 8), a byte string or
//! string claims its length up front before allocating, and a fixed array
//! claims its size. A valid value can therefore claim a few dozen bytes more
//! than its encoding. The limits in [`crate::limits`] leave that slack, and
//! compile-time assertions there check it, so every value that passes
//! `validate` decodes under its frame limit.

use std::fmt;
use std::marker::PhantomData;

use bincode::config;
use bincode::error::DecodeError;
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value could not be encoded or decoded.
///
/// Messages never echo the input's content: decoding errors are logged for
/// frames from untrusted peers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The input was empty; a frame has at least its version byte.
    #[error("empty input")]
    Empty,
    /// The input (or an encoded frame) is longer than the frame's limit.
    #[error("{len} bytes exceed the limit of {max} bytes")]
    TooLarge {
        /// Length of the input or encoding.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// The frame's version byte is not one this decoder understands.
    #[error("unsupported version {found} (supported: {supported})")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
        /// The version this decoder supports.
        supported: u8,
    },
    /// The frame's top-level enum tag is unknown to this decoder: typically a
    /// content type added by a newer release.
    #[error("unknown {type_name} variant tag {tag}")]
    UnknownVariant {
        /// The frame type being decoded.
        type_name: &'static str,
        /// The tag found.
        tag: u32,
    },
    /// The input ended in the middle of a value.
    #[error("input truncated")]
    Truncated,
    /// Decoding would read or allocate more than the frame's limit allows
    /// (typically a length prefix claiming more bytes than the frame holds).
    #[error("decoding limit exceeded")]
    LimitExceeded,
    /// Bytes remained after a complete value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A string field was not valid UTF-8.
    #[error("invalid UTF-8 in a string field")]
    InvalidUtf8,
    /// The input decoded, but is not the canonical (shortest) encoding of
    /// the value, e.g. a varint written with a longer form than needed.
    /// Refused so that every value has exactly one encoding.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// The input is malformed in another way (bad varint prefix, bad option
    /// tag, unknown nested enum tag).
    #[error("invalid encoding: {reason}")]
    Invalid {
        /// What was wrong, without the input's content.
        reason: String,
    },
    /// A field is longer than its bound.
    #[error("field {field} is {len} long, more than the maximum {max}")]
    FieldTooLong {
        /// Field name, as `Type.field`.
        field: &'static str,
        /// Its length (bytes for strings and byte strings, items for lists).
        len: usize,
        /// Its bound.
        max: usize,
    },
    /// A field is shorter than its bound (e.g. an empty list that must hold
    /// at least one item).
    #[error("field {field} is {len} long, less than the minimum {min}")]
    FieldTooShort {
        /// Field name, as `Type.field`.
        field: &'static str,
        /// Its length.
        len: usize,
        /// Its bound.
        min: usize,
    },
    /// A field has a value outside its allowed set (e.g. a character that is
    /// not allowed).
    #[error("field {field} is invalid: {reason}")]
    InvalidField {
        /// Field name, as `Type.field`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Encoding failed. Cannot happen for this crate's types; kept so that
    /// [`encode`] never panics.
    #[error("encoding failed: {reason}")]
    Encode {
        /// bincode's description.
        reason: String,
    },
}

/// The bincode configuration of the wire format: little endian, variable
/// integer encoding. The limit is added per frame kind when decoding.
const fn wire_config() -> config::Configuration {
    config::standard()
}

/// Encodes `value` as bincode with the wire configuration.
///
/// Encoding does not check any limit: use [`Versioned::to_bytes`] for frames.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, wire_config()).map_err(map_encode_error)
}

/// Decodes exactly one `T` from `bytes`, reading and allocating at most
/// `LIMIT` bytes' worth.
///
/// Refuses input longer than `LIMIT` before decoding
/// ([`CodecError::TooLarge`]) and bytes left after the value
/// ([`CodecError::TrailingBytes`]). Does not validate field bounds: that is
/// [`Versioned::validate`]'s job.
pub fn decode<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: LIMIT,
        });
    }
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, wire_config().with_limit::<LIMIT>())
            .map_err(map_decode_error)?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            count: bytes.len().saturating_sub(read),
        });
    }
    Ok(value)
}

/// Decodes exactly one `T` that borrows from `bytes` (byte strings and
/// strings as slices of the input: no copy, no allocation for them), with
/// the same limit and checks as [`decode`].
pub fn decode_borrowed<'a, T: Deserialize<'a>, const LIMIT: usize>(
    bytes: &'a [u8],
) -> Result<T, CodecError> {
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: LIMIT,
        });
    }
    let (value, read) =
        bincode::serde::borrow_decode_from_slice(bytes, wire_config().with_limit::<LIMIT>())
            .map_err(map_decode_error)?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            count: bytes.len().saturating_sub(read),
        });
    }
    Ok(value)
}

/// A top-level wire type, encoded as `[VERSION] || bincode(self)`.
///
/// Every frame type is an enum: its bincode encoding starts with the variant
/// tag, and new kinds are new variants appended at the end. A decoder that
/// meets a tag it does not know returns [`CodecError::UnknownVariant`]
/// instead of a generic error, so a client can say "sent by a newer version".
///
/// Implement [`from_bytes`](Versioned::from_bytes) as
/// `decode_frame::<Self, { LIMIT }>(bytes)` with `LIMIT == Self::MAX_BYTES`
/// (the compiler checks the equality); stable Rust cannot yet use
/// `Self::MAX_BYTES` as a const argument in a default method.
pub trait Versioned: Serialize + DeserializeOwned {
    /// Name of the type, for errors.
    const NAME: &'static str;
    /// The version byte this release writes and accepts.
    const VERSION: u8;
    /// Largest frame, version byte included.
    const MAX_BYTES: usize;
    /// Number of variants of the enum; tags `0..VARIANT_COUNT` are known.
    /// A struct frame (see [`TAGGED`](Versioned::TAGGED)) has one shape: 1.
    const VARIANT_COUNT: u32;
    /// Whether the body starts with an enum tag (every frame but the group
    /// op, whose body is a struct). Only a tagged body is checked for
    /// [`CodecError::UnknownVariant`] before decoding.
    const TAGGED: bool = true;

    /// Checks every field bound (string lengths, list counts, allowed
    /// characters). Called before encoding and after decoding.
    fn validate(&self) -> Result<(), CodecError>;

    /// Encodes the frame, after checking [`validate`](Versioned::validate)
    /// and that the result fits in [`MAX_BYTES`](Versioned::MAX_BYTES).
    fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        encode_frame(self)
    }

    /// Decodes and validates a frame. See [`decode_frame`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError>;
}

/// Encodes a [`Versioned`] frame: validates, writes the version byte, then
/// the bincode body, and checks the total against `T::MAX_BYTES`.
pub fn encode_frame<T: Versioned>(value: &T) -> Result<Vec<u8>, CodecError> {
    value.validate()?;
    let mut out = vec![T::VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, wire_config())
        .map_err(map_encode_error)?;
    if out.len() > T::MAX_BYTES {
        return Err(CodecError::TooLarge {
            len: out.len(),
            max: T::MAX_BYTES,
        });
    }
    Ok(out)
}

/// Decodes a [`Versioned`] frame. In order, refuses: empty input, input over
/// `LIMIT` bytes, a version other than `T::VERSION`, an unknown top-level
/// tag, a malformed or truncated body, trailing bytes, field bounds
/// ([`Versioned::validate`]) and non-canonical encodings.
///
/// `LIMIT` must equal `T::MAX_BYTES`; a mismatch fails to compile.
pub fn decode_frame<T: Versioned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, CodecError> {
    const {
        assert!(
            LIMIT == T::MAX_BYTES,
            "decode_frame: LIMIT must equal T::MAX_BYTES"
        );
    }
    let Some((&version, body)) = bytes.split_first() else {
        return Err(CodecError::Empty);
    };
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: LIMIT,
        });
    }
    if version != T::VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: version,
            supported: T::VERSION,
        });
    }
    // The tag is the first varint of the body; read it alone first so that an
    // unknown tag is a typed error rather than serde's generic one.
    if T::TAGGED {
        let (tag, _) =
            bincode::serde::decode_from_slice::<u32, _>(body, wire_config().with_limit::<8>())
                .map_err(map_decode_error)?;
        if tag >= T::VARIANT_COUNT {
            return Err(CodecError::UnknownVariant {
                type_name: T::NAME,
                tag,
            });
        }
    }
    let value: T = decode::<T, LIMIT>(body)?;
    value.validate()?;
    // bincode accepts over-long varints (e.g. 251 followed by a u16 below
    // 251). Re-encoding and comparing makes the encoding a bijection, which
    // content hashes and signatures over frames rely on.
    if encode(&value)? != body {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

fn map_encode_error(error: bincode::error::EncodeError) -> CodecError {
    CodecError::Encode {
        reason: error.to_string(),
    }
}

/// Maps bincode's decode errors to [`CodecError`], dropping anything that
/// could quote the input.
fn map_decode_error(error: DecodeError) -> CodecError {
    match error {
        DecodeError::UnexpectedEnd { .. } => CodecError::Truncated,
        // A length that does not fit in usize is over any limit.
        DecodeError::LimitExceeded | DecodeError::OutsideUsizeRange(_) => CodecError::LimitExceeded,
        DecodeError::Utf8 { .. } => CodecError::InvalidUtf8,
        DecodeError::InvalidIntegerType { expected, found } => CodecError::Invalid {
            reason: format!("invalid varint prefix: expected {expected:?}, found {found:?}"),
        },
        DecodeError::UnexpectedVariant { type_name, .. } => CodecError::Invalid {
            reason: format!("invalid tag for {type_name}"),
        },
        DecodeError::ArrayLengthMismatch { .. } => CodecError::Invalid {
            reason: "array length mismatch".to_owned(),
        },
        DecodeError::Other(reason) => CodecError::Invalid {
            reason: reason.to_owned(),
        },
        // serde's messages may quote decoded values; keep only the category.
        DecodeError::OtherString(message) => CodecError::Invalid {
            reason: if message.contains("variant index") {
                "unknown enum variant tag".to_owned()
            } else {
                "invalid value".to_owned()
            },
        },
        DecodeError::Serde(inner) => CodecError::Invalid {
            reason: format!("unsupported serde construct: {inner:?}"),
        },
        _ => CodecError::Invalid {
            reason: "malformed input".to_owned(),
        },
    }
}

/// Serde adapter for `Vec<u8>` fields: encodes exactly like the default
/// (varint length, then the bytes) but decodes through bincode's byte-buffer
/// path, which claims the whole length against the limit *before*
/// allocating and copies in one go, instead of serde's element-by-element
/// sequence path (which pre-allocates up to 1 MiB for a hostile length).
pub mod bytes {
    use super::{Deserializer, Serializer, Visitor, fmt};

    /// Serializes a byte string (use as `#[serde(with = "wren_proto::codec::bytes")]`).
    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    /// Deserializes a byte string through the byte-buffer path.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl Visitor<'_> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a byte string")
        }

        fn visit_byte_buf<E: serde::de::Error>(self, value: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(value)
        }

        fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<Vec<u8>, E> {
            Ok(value.to_vec())
        }
    }
}

/// Serde adapter for fixed byte arrays of any length (`[u8; 64]`
/// signatures, `[u8; 73]` distributions; serde itself stops at 32): encoded
/// exactly like `[u8; 32]` is, as `N` raw bytes without a length.
pub mod array {
    use super::{Deserializer, Serializer, Visitor, fmt};
    use serde::de::SeqAccess;
    use serde::ser::SerializeTuple;

    /// Serializes `N` raw bytes (use as `#[serde(with = "codec::array")]`).
    pub fn serialize<S: Serializer, const N: usize>(
        value: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in value {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }

    /// Deserializes exactly `N` raw bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        deserializer.deserialize_tuple(N, ArrayVisitor::<N>)
    }

    struct ArrayVisitor<const N: usize>;

    impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
        type Value = [u8; N];

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(formatter, "{N} bytes")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (index, byte) in out.iter_mut().enumerate() {
                *byte = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(index, &self))?;
            }
            Ok(out)
        }
    }
}

/// Deserializes a `Vec<T>` whose pre-allocation is capped at `CAP` items
/// whatever length the input claims. Longer lists still decode (bounded by
/// the frame limit) so that `validate` reports them as
/// [`CodecError::FieldTooLong`].
pub(crate) fn deserialize_capped_vec<'de, D, T, const CAP: usize>(
    deserializer: D,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct CappedVisitor<T, const CAP: usize>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>, const CAP: usize> Visitor<'de> for CappedVisitor<T, CAP> {
        type Value = Vec<T>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(CAP));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_seq(CappedVisitor::<T, CAP>(PhantomData))
}

/// Returns [`CodecError::FieldTooLong`] if `len > max`.
pub(crate) fn check_max(field: &'static str, len: usize, max: usize) -> Result<(), CodecError> {
    if len > max {
        Err(CodecError::FieldTooLong { field, len, max })
    } else {
        Ok(())
    }
}

/// Returns [`CodecError::FieldTooShort`] if `len < min`.
pub(crate) fn check_min(field: &'static str, len: usize, min: usize) -> Result<(), CodecError> {
    if len < min {
        Err(CodecError::FieldTooShort { field, len, min })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Blob {
        #[serde(with = "bytes")]
        data: Vec<u8>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct BlobRef<'a> {
        #[serde(borrow)]
        data: &'a [u8],
    }

    #[test]
    fn borrowed_decoding_slices_the_input_and_keeps_every_check() {
        let bytes = encode(&Blob { data: vec![7; 10] }).unwrap();
        let view = decode_borrowed::<BlobRef<'_>, 64>(&bytes).unwrap();
        assert_eq!(view.data, &[7; 10]);
        assert_eq!(view.data.as_ptr(), bytes[1..].as_ptr());
        assert!(matches!(
            decode_borrowed::<BlobRef<'_>, 8>(&bytes),
            Err(CodecError::TooLarge { len: 11, max: 8 })
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode_borrowed::<BlobRef<'_>, 64>(&trailing),
            Err(CodecError::TrailingBytes { count: 1 })
        ));
        // A length prefix beyond the input is an error, not a panic.
        assert!(decode_borrowed::<BlobRef<'_>, 64>(&[20, 1, 2]).is_err());
    }

    #[test]
    fn bytes_adapter_encodes_like_plain_vec() {
        let data: Vec<u8> = (0..=255).collect();
        let plain = encode(&data).unwrap();
        let adapted = encode(&Blob { data: data.clone() }).unwrap();
        assert_eq!(plain, adapted);
        assert_eq!(&plain[..3], &[251, 0, 1]);
        assert_eq!(decode::<Blob, 1024>(&plain).unwrap(), Blob { data });
    }

    #[test]
    fn decode_refuses_input_over_limit_before_decoding() {
        let value = [7u8; 32];
        let bytes = encode(&value).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(decode::<[u8; 32], 32>(&bytes).unwrap(), value);
        assert_eq!(
            decode::<[u8; 32], 31>(&bytes),
            Err(CodecError::TooLarge { len: 32, max: 31 })
        );
    }

    #[test]
    fn decode_refuses_trailing_bytes() {
        assert_eq!(
            decode::<u8, 16>(&[1, 2, 3]),
            Err(CodecError::TrailingBytes { count: 2 })
        );
    }

    #[test]
    fn bincode_accepts_long_varints_so_frames_check_canonical_form() {
        // 251 + u16 LE 5: a non-canonical 5. Plain decode accepts it, which is
        // why decode_frame re-encodes and compares.
        assert_eq!(decode::<u64, 16>(&[251, 5, 0]).unwrap(), 5);
    }

    #[test]
    fn varint_boundaries_match_the_spec() {
        let cases: [(u64, &[u8]); 8] = [
            (0, &[0]),
            (250, &[250]),
            (251, &[251, 251, 0]),
            (65_535, &[251, 255, 255]),
            (65_536, &[252, 0, 0, 1, 0]),
            (u64::from(u32::MAX), &[252, 255, 255, 255, 255]),
            (1 << 32, &[253, 0, 0, 0, 0, 1, 0, 0, 0]),
            (u64::MAX, &[253, 255, 255, 255, 255, 255, 255, 255, 255]),
        ];
        for (value, expected) in cases {
            assert_eq!(encode(&value).unwrap(), expected, "{value}");
            assert_eq!(decode::<u64, 16>(expected).unwrap(), value);
        }
        // u8 is a raw byte, never a varint.
        assert_eq!(encode(&255u8).unwrap(), [255]);
        // u16 above 250 takes the 251 form.
        assert_eq!(encode(&300u16).unwrap(), [251, 44, 1]);
        // Prefixes 254 (u128) and 255 are refused for u64.
        assert!(matches!(
            decode::<u64, 32>(&[254; 17]),
            Err(CodecError::Invalid { .. })
        ));
        assert!(matches!(
            decode::<u64, 16>(&[255]),
            Err(CodecError::Invalid { .. })
        ));
        // A u32 (enum tag) refuses the u64 prefix.
        assert!(matches!(
            decode::<u32, 16>(&[253, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(CodecError::Invalid { .. })
        ));
    }

    #[test]
    fn option_and_string_layout() {
        assert_eq!(encode(&None::<u8>).unwrap(), [0]);
        assert_eq!(encode(&Some(7u8)).unwrap(), [1, 7]);
        assert!(matches!(
            decode::<Option<u8>, 16>(&[2, 7]),
            Err(CodecError::Invalid { .. })
        ));
        assert_eq!(encode(&"hé".to_owned()).unwrap(), [3, b'h', 0xc3, 0xa9]);
        assert_eq!(
            decode::<String, 16>(&[2, 0xc3, 0x28]),
            Err(CodecError::InvalidUtf8)
        );
    }

    /// A frame type with a tiny limit, to reach the checks that this crate's
    /// own types cannot reach (their limits leave slack by construction).
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Probe {
        Data(#[serde(with = "bytes")] Vec<u8>),
    }

    impl Versioned for Probe {
        const NAME: &'static str = "Probe";
        const VERSION: u8 = 9;
        const MAX_BYTES: usize = 8;
        const VARIANT_COUNT: u32 = 1;

        fn validate(&self) -> Result<(), CodecError> {
            Ok(())
        }

        fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
            decode_frame::<Self, 8>(bytes)
        }
    }

    #[test]
    fn encode_frame_refuses_frames_over_the_limit() {
        assert_eq!(
            Probe::Data(vec![0; 5]).to_bytes().unwrap(),
            [9, 0, 5, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            Probe::Data(vec![0; 6]).to_bytes(),
            Err(CodecError::TooLarge { len: 9, max: 8 })
        );
    }

    #[test]
    fn limit_counts_claims_not_input_bytes() {
        // The 8-byte frame above fits the input limit, but decoding claims
        // tag 4 + length 8 + data 5 = 17 bytes: refused. This is why every
        // limit in `limits` keeps slack over the largest valid encoding.
        let frame = Probe::Data(vec![0; 5]).to_bytes().unwrap();
        assert_eq!(Probe::from_bytes(&frame), Err(CodecError::LimitExceeded));
    }

    #[test]
    fn errors_do_not_quote_input() {
        let mut bytes = encode(&"secret".to_owned()).unwrap();
        bytes.push(0);
        let error = decode::<String, 64>(&bytes).unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }
}
