//! Identifiers and timestamps carried in payloads.
//!
//! Ids are random byte strings chosen by the sender from a CSPRNG; this crate
//! never generates them (it has no randomness), it only carries, prints and
//! parses them. On the wire an id is its raw bytes, without a length prefix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a hex string could not be parsed as an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdParseError {
    /// The string does not have exactly twice as many hex digits as the id
    /// has bytes.
    #[error("expected {expected} hex digits, found {found} characters")]
    WrongLength {
        /// Number of hex digits required.
        expected: usize,
        /// Number of bytes in the input.
        found: usize,
    },
    /// A character is not a hex digit (`0-9`, `a-f`, `A-F`).
    #[error("invalid hex digit")]
    InvalidHexDigit,
}

fn write_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

fn hex_value(digit: u8) -> Result<u8, IdParseError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(IdParseError::InvalidHexDigit),
    }
}

fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], IdParseError> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return Err(IdParseError::WrongLength {
            expected: 2 * N,
            found: digits.len(),
        });
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let [high, low] = pair else {
            return Err(IdParseError::InvalidHexDigit);
        };
        *byte = (hex_value(*high)? << 4) | hex_value(*low)?;
    }
    Ok(out)
}

macro_rules! byte_id {
    ($(#[$meta:meta])* $name:ident, $len:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length of the id in bytes.
            pub const LEN: usize = $len;

            /// Wraps bytes drawn by the caller from a CSPRNG (or read back
            /// from storage).
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The id's bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        /// Lowercase hex, two digits per byte.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        /// Parses exactly two hex digits per byte, either case.
        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(text: &str) -> Result<Self, IdParseError> {
                parse_hex::<$len>(text).map(Self)
            }
        }
    };
}

byte_id!(
    /// Identifies one message (a text, a contact request) across both peers:
    /// 128 random bits drawn by the sender, so collisions are negligible and
    /// the id reveals nothing. Receipts and replies refer to it.
    MessageId,
    16
);

byte_id!(
    /// Identifies a group: the hash of its creator's identity key and 32
    /// random bytes the creator drew (docs/protocol.md §G1), so it is as
    /// unpredictable as a random id and binds the group to its creator.
    GroupId,
    32
);

byte_id!(
    /// Identifies one group membership operation: the SHA-256 of its
    /// encoded frame, signature included (docs/protocol.md §G1). Ops name
    /// their causal parents by it; a group's epoch is one.
    OpId,
    32
);

/// A point in time as milliseconds since the Unix epoch (UTC), as claimed
/// by the sender's clock: informative only, never trusted for ordering or
/// security decisions.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_hex_round_trip() {
        let id = MessageId::from_bytes([
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ]);
        let text = id.to_string();
        assert_eq!(text, "00112233445566778899aabbccddeeff");
        assert_eq!(text.parse::<MessageId>(), Ok(id));
        assert_eq!(
            "00112233445566778899AABBCCDDEEFF".parse::<MessageId>(),
            Ok(id)
        );
        assert_eq!(
            format!("{id:?}"),
            "MessageId(00112233445566778899aabbccddeeff)"
        );
    }

    #[test]
    fn group_id_hex_round_trip() {
        let id = GroupId::from_bytes([0xab; 32]);
        assert_eq!(id.to_string(), "ab".repeat(32));
        assert_eq!(id.to_string().parse::<GroupId>(), Ok(id));
    }

    #[test]
    fn id_parse_errors() {
        assert_eq!(
            "abc".parse::<MessageId>(),
            Err(IdParseError::WrongLength {
                expected: 32,
                found: 3
            })
        );
        assert_eq!(
            "0".repeat(64).parse::<MessageId>(),
            Err(IdParseError::WrongLength {
                expected: 32,
                found: 64
            })
        );
        assert_eq!(
            "g".repeat(32).parse::<MessageId>(),
            Err(IdParseError::InvalidHexDigit)
        );
        // A multi-byte character is counted in bytes and never panics.
        let text = format!("é{}", "0".repeat(30));
        assert_eq!(text.len(), 32);
        assert_eq!(
            text.parse::<MessageId>(),
            Err(IdParseError::InvalidHexDigit)
        );
        assert_eq!(
            "+0".repeat(16).parse::<MessageId>(),
            Err(IdParseError::InvalidHexDigit)
        );
    }

    #[test]
    fn timestamp_millis() {
        let t = Timestamp::from_millis(1_700_000_000_000);
        assert_eq!(t.as_millis(), 1_700_000_000_000);
        assert!(Timestamp::from_millis(1) < t);
    }
}
