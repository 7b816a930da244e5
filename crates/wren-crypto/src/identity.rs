//! Long-term identities: the Ed25519 identity key pair, its libp2p `PeerId`,
//! the personal fingerprint and the pairwise safety number.
//!
//! One Ed25519 key is a Wren identity. Its X25519 form (the birational map
//! of RFC 7748 §4.1 / libsodium's `ed25519_pk_to_curve25519`) takes part in
//! X3DH, so a pairing code carries a single 32-byte identity key.

use std::cmp::Ordering;
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use libp2p_identity::PeerId;
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::dh::{self, TheirKey};
use crate::error::DecodeError;

/// Domain separation for the fingerprint hash.
const FINGERPRINT_LABEL: &[u8] = b"Wren Fingerprint v1";

/// A Wren identity: the Ed25519 signing key and its X25519 form.
pub struct IdentityKeyPair {
    signing: SigningKey,
    dh: StaticSecret,
    public: IdentityKey,
}

impl IdentityKeyPair {
    /// Creates a fresh identity from a cryptographically secure RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_secret_bytes(&seed)
    }

    /// Restores an identity from its 32-byte Ed25519 secret seed.
    pub fn from_secret_bytes(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let dh = StaticSecret::from(*Zeroizing::new(signing.to_scalar_bytes()));
        let ed = signing.verifying_key();
        let public = IdentityKey { ed };
        Self {
            signing,
            dh,
            public,
        }
    }

    /// Copies the 32-byte secret seed out, for sealed storage only.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public identity key.
    pub fn public(&self) -> &IdentityKey {
        &self.public
    }

    /// The libp2p key pair with the same secret, so the transport
    /// authenticates the same identity (its `PeerId` is [`IdentityKey::peer_id`]).
    #[allow(
        clippy::expect_used,
        reason = "a 32-byte seed is always a valid Ed25519 secret key"
    )]
    pub fn to_libp2p_keypair(&self) -> libp2p_identity::Keypair {
        let mut seed = self.signing.to_bytes();
        // `ed25519_from_bytes` zeroizes the buffer it is given.
        libp2p_identity::Keypair::ed25519_from_bytes(&mut seed).expect("32-byte Ed25519 seed")
    }

    /// Signs `message` with the identity key (Ed25519, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// X25519 with the identity's secret scalar; `None` if not contributory.
    pub(crate) fn dh(&self, their: &TheirKey) -> Option<Zeroizing<[u8; 32]>> {
        dh::dh(&self.dh, their)
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A public identity key: Ed25519, with its X25519 form computed once.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityKey {
    ed: VerifyingKey,
}

impl IdentityKey {
    /// Length of the encoded key.
    pub const LEN: usize = 32;

    /// Parses a 32-byte Ed25519 public key; rejects non-canonical, invalid
    /// and small-order points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let ed =
            VerifyingKey::from_bytes(bytes).map_err(|_| DecodeError::InvalidKey("identity"))?;
        if ed.is_weak() {
            return Err(DecodeError::InvalidKey("identity"));
        }
        Ok(Self { ed })
    }

    /// Parses from a slice that must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        let arr: &[u8; 32] = bytes
            .try_into()
            .map_err(|_| DecodeError::InvalidKey("identity"))?;
        Self::from_bytes(arr)
    }

    /// The 32-byte Ed25519 encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.ed.to_bytes()
    }

    /// The 32-byte Ed25519 encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.ed.as_bytes()
    }

    /// The key as an X3DH participant: its Edwards point, which the
    /// Ed25519 key already holds (so no conversion is needed).
    pub(crate) fn dh(&self) -> TheirKey {
        TheirKey::from_edwards(self.ed.to_edwards())
    }

    /// Verifies an Ed25519 signature made by this identity (strict RFC 8032
    /// verification: no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let sig = Signature::from_bytes(signature);
        self.ed.verify_strict(message, &sig).is_ok()
    }

    /// The libp2p peer id of this identity (identity multihash of the
    /// protobuf-encoded Ed25519 public key).
    #[allow(
        clippy::expect_used,
        reason = "the key was validated when this IdentityKey was built"
    )]
    pub fn peer_id(&self) -> PeerId {
        let pk = libp2p_identity::ed25519::PublicKey::try_from_bytes(self.as_bytes())
            .expect("validated Ed25519 key");
        libp2p_identity::PublicKey::from(pk).to_peer_id()
    }

    /// Recovers the identity key from a peer id, if the peer id embeds an
    /// Ed25519 key (all Wren peer ids do).
    pub fn from_peer_id(peer_id: &PeerId) -> Result<Self, DecodeError> {
        let multihash = peer_id.as_ref();
        if multihash.code() != 0 {
            return Err(DecodeError::InvalidKey(
                "peer id (not an identity multihash)",
            ));
        }
        let pk = libp2p_identity::PublicKey::try_decode_protobuf(multihash.digest())
            .map_err(|_| DecodeError::InvalidKey("peer id"))?;
        let ed = pk
            .try_into_ed25519()
            .map_err(|_| DecodeError::InvalidKey("peer id (not Ed25519)"))?;
        Self::from_bytes(&ed.to_bytes())
    }

    /// This identity's fingerprint, to read aloud or compare on screen.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha512::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update(self.as_bytes())
            .finalize();
        let mut groups = [0u32; Fingerprint::GROUPS];
        for (group, chunk) in groups.iter_mut().zip(digest.chunks_exact(5)) {
            let mut wide = [0u8; 8];
            if let Some(tail) = wide.get_mut(3..) {
                tail.copy_from_slice(chunk);
            }
            // 40 bits reduced mod 100000: the bias is below 2^-23 per group.
            *group = (u64::from_be_bytes(wide) % 100_000) as u32;
        }
        Fingerprint { groups }
    }
}

impl PartialOrd for IdentityKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdentityKey {
    /// Byte-wise order of the Ed25519 encodings; used for deterministic tie-breaks.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({})", self.peer_id())
    }
}

/// A personal fingerprint: 30 decimal digits in six groups of five,
/// derived from SHA-512 over a label and the identity key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Fingerprint {
    groups: [u32; Fingerprint::GROUPS],
}

impl Fingerprint {
    /// Number of five-digit groups.
    pub const GROUPS: usize = 6;

    /// The digits without spaces.
    pub fn digits(&self) -> String {
        self.groups.iter().map(|g| format!("{g:05}")).collect()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.groups.iter().map(|g| format!("{g:05}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// The number two contacts compare to detect a man in the middle: both
/// fingerprints, the smaller first, so both sides compute the same 60 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SafetyNumber {
    first: Fingerprint,
    second: Fingerprint,
}

impl SafetyNumber {
    /// The safety number between two identities; symmetric in its arguments.
    pub fn new(a: &IdentityKey, b: &IdentityKey) -> Self {
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        let (first, second) = if fa <= fb { (fa, fb) } else { (fb, fa) };
        Self { first, second }
    }

    /// The 60 digits without spaces.
    pub fn digits(&self) -> String {
        format!("{}{}", self.first.digits(), self.second.digits())
    }
}

impl fmt::Display for SafetyNumber {
    /// Twelve groups of five digits, space-separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.first, self.second)
    }
}

#[cfg(test)]
mod tests {
    //! Known answers: RFC 8032 test 1 through our identity type, RFC 7748
    //! §6.1 for X25519, and the Ed25519 → X25519 map of our identity.
    use super::*;
    use x25519_dalek::PublicKey as XPublicKey;

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn ed25519_rfc8032_test_1_through_the_identity() {
        let id = IdentityKeyPair::from_secret_bytes(&unhex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        ));
        assert_eq!(
            id.public().to_bytes(),
            unhex::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        let sig = id.sign(b"");
        assert_eq!(
            sig,
            unhex::<64>(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
        assert!(id.public().verify(b"", &sig));
        // Its X25519 form: u = (1 + y)/(1 − y), and the public key of the
        // clamped SHA-512 scalar — computed independently, they agree.
        let u = unhex::<32>("d85e07ec22b0ad881537c2f44d662d1a143cf830c57aca4305d85c7a90f6b62e");
        assert_eq!(id.public().ed.to_montgomery().to_bytes(), u);
        assert_eq!(XPublicKey::from(&id.dh).to_bytes(), u);
    }

    #[test]
    fn x25519_rfc7748_section_6_1() {
        let alice = StaticSecret::from(unhex::<32>(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = XPublicKey::from(unhex::<32>(
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        ));
        assert_eq!(
            alice.diffie_hellman(&bob).to_bytes(),
            unhex::<32>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        );
    }

    #[test]
    fn identity_dh_is_symmetric() {
        let a = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let b = IdentityKeyPair::from_secret_bytes(&[2; 32]);
        assert_eq!(
            *a.dh(&b.public().dh()).unwrap(),
            *b.dh(&a.public().dh()).unwrap()
        );
    }
}
