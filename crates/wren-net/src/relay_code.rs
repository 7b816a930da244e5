//! Relay codes: a relay's peer id and addresses as one line of text to
//! paste, with a checksum that catches typos.
//!
//! ```text
//! code    = "wren-relay:1/" || base32(payload || checksum)     (RFC 4648, no padding)
//! payload = peer id (len: u8 (1..=64) || PeerId::to_bytes())
//!        || count: u8 (1..=8)
//!        || count × ( len: u16 (1..=256) || Multiaddr::to_vec() )   (without /p2p/…)
//! checksum = SHA-256(payload)[0..4]
//! ```
//!
//! The canonical form is upper case; parsing ignores case (also in the
//! prefix) and surrounding whitespace. [`parse_relay`] also accepts one
//! multiaddr ending in `/p2p/PEER_ID`, the form relay operators usually
//! print. The layout is specified in docs/protocol.md, Part VII.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use sha2::{Digest, Sha256};

use crate::error::RelayCodeError;
use crate::frame::Reader;
use crate::limits::{
    MAX_PEER_ID_BYTES, MAX_RELAY_CODE_ADDR_BYTES, MAX_RELAY_CODE_ADDRS, MAX_RELAY_CODE_CHARS,
};
use crate::mailbox;

/// The text every relay code starts with (version 1).
pub const RELAY_CODE_PREFIX: &str = "wren-relay:1/";

/// Bytes of the checksum at the end of the payload.
const CHECKSUM_BYTES: usize = 4;

/// A relay's identity and where to reach it.
///
/// Built with [`RelayCode::new`] (which checks the bounds, so that every
/// value can be printed as a code that parses back) or parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayCode {
    peer_id: PeerId,
    addrs: Vec<Multiaddr>,
}

impl RelayCode {
    /// A relay code for `peer_id` reachable at `addrs` (1 to 8 addresses
    /// of at most 256 encoded bytes each). A trailing `/p2p/PEER_ID` naming
    /// the relay is removed from an address; one naming another peer is an
    /// error.
    pub fn new(peer_id: PeerId, addrs: Vec<Multiaddr>) -> Result<Self, RelayCodeError> {
        if addrs.is_empty() || addrs.len() > MAX_RELAY_CODE_ADDRS {
            return Err(RelayCodeError::AddressCount(addrs.len()));
        }
        if peer_id.to_bytes().len() > MAX_PEER_ID_BYTES {
            return Err(RelayCodeError::InvalidPeerId);
        }
        let mut stripped = Vec::with_capacity(addrs.len());
        for mut addr in addrs {
            match addr.iter().last() {
                Some(Protocol::P2p(peer)) if peer == peer_id => {
                    addr.pop();
                }
                Some(Protocol::P2p(_)) => return Err(RelayCodeError::PeerMismatch),
                _ => {}
            }
            let len = addr.len();
            if len == 0 || len > MAX_RELAY_CODE_ADDR_BYTES {
                return Err(RelayCodeError::AddressLength(len));
            }
            stripped.push(addr);
        }
        Ok(Self {
            peer_id,
            addrs: stripped,
        })
    }

    /// The relay's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The relay's addresses, without `/p2p/…`.
    pub fn addrs(&self) -> &[Multiaddr] {
        &self.addrs
    }

    /// Each address with `/p2p/PEER_ID` appended: what
    /// [`Net::add_relay`](crate::Net::add_relay) takes.
    pub fn addrs_with_peer(&self) -> Vec<Multiaddr> {
        self.addrs
            .iter()
            .map(|addr| addr.clone().with(Protocol::P2p(self.peer_id)))
            .collect()
    }

    /// The binary payload with its checksum (what the text encodes).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // `new` and `decode` checked every bound, so these conversions hold;
        // they saturate rather than panic all the same.
        let id = self.peer_id.to_bytes();
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&id);
        out.push(u8::try_from(self.addrs.len()).unwrap_or(u8::MAX));
        for addr in &self.addrs {
            let bytes = addr.to_vec();
            out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        let checksum = checksum(&out);
        out.extend_from_slice(&checksum);
        out
    }

    /// Parses the binary payload with its checksum.
    fn from_bytes(bytes: &[u8]) -> Result<Self, RelayCodeError> {
        let split = bytes
            .len()
            .checked_sub(CHECKSUM_BYTES)
            .ok_or(RelayCodeError::Truncated)?;
        let (payload, sum) = bytes.split_at(split);
        if checksum(payload) != sum {
            return Err(RelayCodeError::Checksum);
        }
        let mut r = Reader::new(payload);
        let peer_id = mailbox::read_peer(&mut r).map_err(|error| match error {
            crate::FrameError::Truncated => RelayCodeError::Truncated,
            _ => RelayCodeError::InvalidPeerId,
        })?;
        let count = usize::from(r.u8().map_err(|_| RelayCodeError::Truncated)?);
        if count == 0 || count > MAX_RELAY_CODE_ADDRS {
            return Err(RelayCodeError::AddressCount(count));
        }
        let mut addrs = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(r.u16().map_err(|_| RelayCodeError::Truncated)?);
            if len == 0 || len > MAX_RELAY_CODE_ADDR_BYTES {
                return Err(RelayCodeError::AddressLength(len));
            }
            let bytes = r.take(len).map_err(|_| RelayCodeError::Truncated)?;
            let addr =
                Multiaddr::try_from(bytes.to_vec()).map_err(|_| RelayCodeError::InvalidAddress)?;
            if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                // Canonical codes carry addresses without the peer id.
                return Err(RelayCodeError::InvalidAddress);
            }
            addrs.push(addr);
        }
        r.finish().map_err(|_| RelayCodeError::TrailingBytes)?;
        Ok(Self { peer_id, addrs })
    }
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let digest = Sha256::digest(payload);
    let mut sum = [0u8; CHECKSUM_BYTES];
    for (out, byte) in sum.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    sum
}

impl fmt::Display for RelayCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(RELAY_CODE_PREFIX)?;
        f.write_str(&BASE32_NOPAD.encode(&self.to_bytes()))
    }
}

impl FromStr for RelayCode {
    type Err = RelayCodeError;

    /// Parses a relay code (`wren-relay:1/…`), ignoring case and
    /// surrounding whitespace.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.len() > MAX_RELAY_CODE_CHARS {
            return Err(RelayCodeError::TooLong);
        }
        let body = strip_prefix(text).ok_or(RelayCodeError::Unrecognised)?;
        let bytes = BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| RelayCodeError::Base32)?;
        Self::from_bytes(&bytes)
    }
}

/// `text` without the relay code prefix (matched ignoring case), or `None`.
fn strip_prefix(text: &str) -> Option<&str> {
    let head = text.get(..RELAY_CODE_PREFIX.len())?;
    if head.eq_ignore_ascii_case(RELAY_CODE_PREFIX) {
        text.get(RELAY_CODE_PREFIX.len()..)
    } else {
        None
    }
}

/// Parses what a user pastes to name a relay: a relay code
/// (`wren-relay:1/…`) or one multiaddr ending in `/p2p/PEER_ID`
/// (`/ip4/203.0.113.7/tcp/4001/p2p/12D3Koo…`). Surrounding whitespace is
/// ignored.
///
/// An address without the `/p2p/…` suffix fails with
/// [`RelayCodeError::MissingPeerId`]: the relay's identity is what makes
/// the connection authenticated.
pub fn parse_relay(text: &str) -> Result<RelayCode, RelayCodeError> {
    let text = text.trim();
    if text.len() > MAX_RELAY_CODE_CHARS {
        return Err(RelayCodeError::TooLong);
    }
    if strip_prefix(text).is_some() {
        return text.parse();
    }
    if !text.starts_with('/') {
        return Err(RelayCodeError::Unrecognised);
    }
    let addr: Multiaddr = text.parse().map_err(|_| RelayCodeError::InvalidAddress)?;
    let Some(Protocol::P2p(peer_id)) = addr.iter().last() else {
        return Err(RelayCodeError::MissingPeerId);
    };
    RelayCode::new(peer_id, vec![addr])
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;
    use proptest::prelude::*;

    use super::*;

    fn relay_peer() -> PeerId {
        Keypair::ed25519_from_bytes([7; 32])
            .unwrap()
            .public()
            .to_peer_id()
    }

    fn example() -> RelayCode {
        RelayCode::new(
            relay_peer(),
            vec![
                "/ip4/203.0.113.7/tcp/4001".parse().unwrap(),
                "/ip4/203.0.113.7/udp/4001/quic-v1".parse().unwrap(),
            ],
        )
        .unwrap()
    }

    /// The example of docs/protocol.md, Part VII, byte for byte.
    #[test]
    fn test_vector() {
        let code = example();
        assert_eq!(code.peer_id().to_string(), EXAMPLE_PEER_ID);
        let bytes = code.to_bytes();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, EXAMPLE_HEX);
        assert_eq!(code.to_string(), EXAMPLE_CODE);
        assert_eq!(EXAMPLE_CODE.parse::<RelayCode>().unwrap(), code);
    }

    const EXAMPLE_PEER_ID: &str = "12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7";
    const EXAMPLE_HEX: &str = "26002408011220ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c02000804cb007107060fa1000b04cb00710791020fa1cd0314294e97";
    const EXAMPLE_CODE: &str = "wren-relay:1/EYACICABCIQOUSTMMPRJYUQKX32VA6YTF3C7TFKHO2XL5PT3SJBB52TJCRDNELACAAEAJSYAOEDQMD5BAAFQJSYAOEDZCAQPUHGQGFBJJ2LQ";

    #[test]
    fn round_trip_ignoring_case_and_whitespace() {
        let code = example();
        let text = code.to_string();
        assert!(text.starts_with("wren-relay:1/"));
        assert_eq!(
            text[RELAY_CODE_PREFIX.len()..].to_uppercase(),
            text[RELAY_CODE_PREFIX.len()..]
        );
        assert_eq!(text.parse::<RelayCode>().unwrap(), code);
        let sloppy = format!("  \n{}\t ", text.to_lowercase());
        assert_eq!(sloppy.parse::<RelayCode>().unwrap(), code);
        assert_eq!(parse_relay(&sloppy).unwrap(), code);
        let shouted = text.to_uppercase();
        assert_eq!(shouted.parse::<RelayCode>().unwrap(), code);
    }

    #[test]
    fn a_typo_is_caught_by_the_checksum() {
        let text = example().to_string();
        let at = RELAY_CODE_PREFIX.len() + 20;
        let original = text.as_bytes()[at];
        let replacement = if original == b'A' { b'B' } else { b'A' };
        let mut typo = text.into_bytes();
        typo[at] = replacement;
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(typo.parse::<RelayCode>(), Err(RelayCodeError::Checksum));
    }

    #[test]
    fn cut_and_garbled_codes_are_errors() {
        let text = example().to_string();
        assert!(text[..text.len() - 8].parse::<RelayCode>().is_err());
        assert_eq!(
            "wren-relay:1/".parse::<RelayCode>(),
            Err(RelayCodeError::Truncated)
        );
        assert_eq!(
            "wren-relay:1/not base32!".parse::<RelayCode>(),
            Err(RelayCodeError::Base32)
        );
        assert_eq!(
            "wren-relay:2/AAAA".parse::<RelayCode>(),
            Err(RelayCodeError::Unrecognised)
        );
        assert_eq!(parse_relay("hello"), Err(RelayCodeError::Unrecognised));
        let long = format!("wren-relay:1/{}", "A".repeat(MAX_RELAY_CODE_CHARS));
        assert_eq!(parse_relay(&long), Err(RelayCodeError::TooLong));
    }

    #[test]
    fn multiaddr_form() {
        let peer = relay_peer();
        let text = format!("/ip4/203.0.113.7/tcp/4001/p2p/{peer}");
        let code = parse_relay(&format!(" {text} ")).unwrap();
        assert_eq!(code.peer_id(), peer);
        assert_eq!(
            code.addrs(),
            ["/ip4/203.0.113.7/tcp/4001".parse::<Multiaddr>().unwrap()]
        );
        assert_eq!(code.addrs_with_peer(), [text.parse::<Multiaddr>().unwrap()]);
        // The same relay as a code.
        assert_eq!(parse_relay(&code.to_string()).unwrap(), code);
    }

    #[test]
    fn an_address_without_p2p_names_the_problem() {
        let error = parse_relay("/ip4/203.0.113.7/tcp/4001").unwrap_err();
        assert_eq!(error, RelayCodeError::MissingPeerId);
        assert!(error.to_string().contains("/p2p/"));
        assert_eq!(
            parse_relay("/ip4/999.0.0.1/tcp/1"),
            Err(RelayCodeError::InvalidAddress)
        );
    }

    #[test]
    fn bounds_of_new() {
        let peer = relay_peer();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert_eq!(
            RelayCode::new(peer, Vec::new()),
            Err(RelayCodeError::AddressCount(0))
        );
        let eight = RelayCode::new(peer, vec![addr.clone(); MAX_RELAY_CODE_ADDRS]).unwrap();
        assert_eq!(eight.to_string().parse::<RelayCode>().unwrap(), eight);
        assert_eq!(
            RelayCode::new(peer, vec![addr.clone(); MAX_RELAY_CODE_ADDRS + 1]),
            Err(RelayCodeError::AddressCount(9))
        );
        // A /p2p suffix naming the relay is stripped; another peer's is an
        // error.
        let with_peer = addr.clone().with(Protocol::P2p(peer));
        assert_eq!(
            RelayCode::new(peer, vec![with_peer]).unwrap().addrs(),
            std::slice::from_ref(&addr)
        );
        let other = addr.clone().with(Protocol::P2p(PeerId::random()));
        assert_eq!(
            RelayCode::new(peer, vec![other]),
            Err(RelayCodeError::PeerMismatch)
        );
        // Addresses of 256 encoded bytes pass, of 257 do not: a DNS name
        // sized to fill them (dns code 0x35, a varint length, the name).
        let dns = |encoded: usize| -> Multiaddr {
            let name_len = encoded - 1 - 2;
            format!("/dns/{}", "a".repeat(name_len)).parse().unwrap()
        };
        assert_eq!(dns(256).len(), 256);
        let longest = RelayCode::new(peer, vec![dns(256); MAX_RELAY_CODE_ADDRS]).unwrap();
        let text = longest.to_string();
        assert!(text.len() <= MAX_RELAY_CODE_CHARS);
        assert_eq!(text.parse::<RelayCode>().unwrap(), longest);
        assert_eq!(
            RelayCode::new(peer, vec![dns(257)]),
            Err(RelayCodeError::AddressLength(257))
        );
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = parse_relay(&text);
            let _ = format!("wren-relay:1/{text}").parse::<RelayCode>();
        }

        #[test]
        fn decoding_arbitrary_payloads_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RelayCode::from_bytes(&bytes);
            // With a valid checksum, so the parser gets past it.
            let mut signed = bytes.clone();
            signed.extend_from_slice(&checksum(&bytes));
            if let Ok(code) = RelayCode::from_bytes(&signed) {
                prop_assert_eq!(code.to_bytes(), signed);
            }
        }
    }
}
