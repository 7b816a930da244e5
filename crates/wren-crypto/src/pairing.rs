//! Pairing codes: the `wren:` URI two people exchange (as text or a QR code)
//! to become contacts. It carries the identity key, a signed prekey, a
//! display name and network hints, signed by the identity, with a checksum
//! that catches typos before any cryptography runs.
//!
//! Text form: `wren:1/` followed by the RFC 4648 base32 (no padding) of the
//! payload. Upper case is canonical (it fits QR alphanumeric mode); parsing
//! accepts either case and surrounding whitespace.

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};

use crate::bytes::{Put, Reader};
use crate::error::{DecodeError, PairingCodeError};
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::limits::{
    MAX_DISPLAY_NAME_BYTES, MAX_NETWORK_HINT_BYTES, MAX_NETWORK_HINTS, MAX_PAIRING_CODE_CHARS,
};
use crate::prekey::{PrekeyBundle, SignedPrekey, VerifiedBundle};

/// URI scheme, compared case-insensitively.
const SCHEME: &str = "wren:";
/// The payload version this implementation writes and reads.
const VERSION: u8 = 1;
/// Domain separation for the identity's signature over the code.
const SIGNATURE_LABEL: &[u8] = b"Wren Pairing Code v1";
/// Length of the truncated SHA-256 checksum.
const CHECKSUM_LEN: usize = 4;

/// A way to reach the code's owner. Text multiaddrs; the network layer parses them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum NetworkHint {
    /// An address the owner listens on.
    Address(String),
    /// A relay the owner uses (a multiaddr ending in `/p2p/PEER_ID`).
    Relay(String),
}

impl NetworkHint {
    fn kind(&self) -> u8 {
        match self {
            Self::Address(_) => 0,
            Self::Relay(_) => 1,
        }
    }

    /// The multiaddr text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Address(s) | Self::Relay(s) => s,
        }
    }
}

/// A parsed and verified (or freshly created and signed) pairing code.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PairingCode {
    identity: IdentityKey,
    signed_prekey: SignedPrekey,
    display_name: String,
    hints: Vec<NetworkHint>,
    signature: [u8; 64],
}

fn check_name(name: &str) -> Result<(), PairingCodeError> {
    if name.is_empty() || name.len() > MAX_DISPLAY_NAME_BYTES || name.chars().any(char::is_control)
    {
        return Err(PairingCodeError::BadDisplayName);
    }
    Ok(())
}

fn check_hint(hint: &NetworkHint) -> Result<(), PairingCodeError> {
    let s = hint.as_str();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(PairingCodeError::Malformed(DecodeError::InvalidField(
            "network hint",
        )));
    }
    if s.len() > MAX_NETWORK_HINT_BYTES {
        return Err(PairingCodeError::Malformed(DecodeError::TooLong {
            field: "network hint",
            len: s.len(),
            max: MAX_NETWORK_HINT_BYTES,
        }));
    }
    Ok(())
}

impl PairingCode {
    /// Creates and signs a code for our identity.
    pub fn new(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPrekey,
        display_name: &str,
        hints: Vec<NetworkHint>,
    ) -> Result<Self, PairingCodeError> {
        check_name(display_name)?;
        if hints.len() > MAX_NETWORK_HINTS {
            return Err(PairingCodeError::Malformed(DecodeError::TooLong {
                field: "network hints",
                len: hints.len(),
                max: MAX_NETWORK_HINTS,
            }));
        }
        hints.iter().try_for_each(check_hint)?;
        let mut code = Self {
            identity: *identity.public(),
            signed_prekey: *signed_prekey,
            display_name: display_name.to_owned(),
            hints,
            signature: [0; 64],
        };
        let mut signed = SIGNATURE_LABEL.to_vec();
        signed.extend_from_slice(&code.body());
        code.signature = identity.sign(&signed);
        Ok(code)
    }

    /// The signed body: version ‖ identity ‖ signed prekey ‖ name ‖ hints.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.put_u8(VERSION);
        out.put(self.identity.as_bytes());
        self.signed_prekey.encode_into(&mut out);
        out.put_u8(self.display_name.len() as u8);
        out.put(self.display_name.as_bytes());
        out.put_u8(self.hints.len() as u8);
        for h in &self.hints {
            out.put_u8(h.kind());
            out.put_bytes16(h.as_str().as_bytes());
        }
        out
    }

    /// The canonical URI (upper-case base32 after `wren:1/`).
    pub fn to_uri(&self) -> String {
        let mut payload = self.body();
        payload.put(&self.signature);
        let checksum = Sha256::digest(&payload);
        payload.put(checksum.get(..CHECKSUM_LEN).unwrap_or_default());
        format!("{SCHEME}{VERSION}/{}", BASE32_NOPAD.encode(&payload))
    }

    /// Parses and verifies a code: scheme, length, version, base32, checksum,
    /// layout, name and hint bounds, then both signatures.
    pub fn parse(text: &str) -> Result<Self, PairingCodeError> {
        let text = text.trim();
        if text.len() > MAX_PAIRING_CODE_CHARS {
            return Err(PairingCodeError::TooLong {
                len: text.len(),
                max: MAX_PAIRING_CODE_CHARS,
            });
        }
        let rest = match text.get(..SCHEME.len()) {
            Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => {
                text.get(SCHEME.len()..).unwrap_or_default()
            }
            _ => return Err(PairingCodeError::NotAWrenCode),
        };
        let (version, encoded) = rest.split_once('/').ok_or(PairingCodeError::BadEncoding)?;
        if version != "1" {
            return Err(PairingCodeError::UnsupportedVersion(
                version.chars().take(8).collect(),
            ));
        }
        let payload = BASE32_NOPAD
            .decode(encoded.to_ascii_uppercase().as_bytes())
            .map_err(|_| PairingCodeError::BadEncoding)?;
        let split = payload
            .len()
            .checked_sub(CHECKSUM_LEN)
            .ok_or(PairingCodeError::BadChecksum)?;
        let (signed_part, checksum) = payload.split_at(split);
        if Sha256::digest(signed_part).get(..CHECKSUM_LEN) != Some(checksum) {
            return Err(PairingCodeError::BadChecksum);
        }
        let sig_at = signed_part
            .len()
            .checked_sub(64)
            .ok_or(PairingCodeError::Malformed(DecodeError::Truncated {
                needed: 64,
            }))?;
        let (body, signature) = signed_part.split_at(sig_at);
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| PairingCodeError::BadSignature)?;

        let mut r = Reader::new(body);
        r.version(VERSION)?;
        let identity = IdentityKey::from_bytes(&r.array()?)?;
        let signed_prekey = SignedPrekey::decode_from(&mut r)?;
        let name_len = usize::from(r.u8()?);
        if name_len > MAX_DISPLAY_NAME_BYTES {
            return Err(DecodeError::TooLong {
                field: "display name",
                len: name_len,
                max: MAX_DISPLAY_NAME_BYTES,
            }
            .into());
        }
        let display_name =
            std::str::from_utf8(r.take(name_len)?).map_err(|_| PairingCodeError::BadDisplayName)?;
        check_name(display_name)?;
        let count = usize::from(r.u8()?);
        if count > MAX_NETWORK_HINTS {
            return Err(DecodeError::TooLong {
                field: "network hints",
                len: count,
                max: MAX_NETWORK_HINTS,
            }
            .into());
        }
        let mut hints = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = r.u8()?;
            let text = std::str::from_utf8(r.bytes16("network hint", MAX_NETWORK_HINT_BYTES)?)
                .map_err(|_| DecodeError::InvalidField("network hint"))?
                .to_owned();
            let hint = match kind {
                0 => NetworkHint::Address(text),
                1 => NetworkHint::Relay(text),
                _ => return Err(DecodeError::InvalidField("network hint kind").into()),
            };
            check_hint(&hint)?;
            hints.push(hint);
        }
        r.finish()?;

        let mut signed = SIGNATURE_LABEL.to_vec();
        signed.extend_from_slice(body);
        if !identity.verify(&signed, &signature) {
            return Err(PairingCodeError::BadSignature);
        }
        signed_prekey
            .verify(&identity)
            .map_err(|_| PairingCodeError::BadPrekeySignature)?;
        Ok(Self {
            identity,
            signed_prekey,
            display_name: display_name.to_owned(),
            hints,
            signature,
        })
    }

    /// The owner's identity key.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// The owner's chosen display name (at most [`MAX_DISPLAY_NAME_BYTES`] bytes).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Where to reach the owner.
    pub fn hints(&self) -> &[NetworkHint] {
        &self.hints
    }

    /// The signed prekey it carries.
    pub fn signed_prekey(&self) -> &SignedPrekey {
        &self.signed_prekey
    }

    /// The prekey bundle to start a session with the owner. The code's
    /// signatures were checked when it was parsed or created.
    pub fn bundle(&self) -> VerifiedBundle {
        VerifiedBundle::new_checked(PrekeyBundle::new(self.identity, self.signed_prekey, None))
    }
}
