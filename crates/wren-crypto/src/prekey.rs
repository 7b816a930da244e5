//! Prekeys: the signed prekey (rotated, with a grace period), one-time
//! prekeys, and the bundle a peer needs to start a session with us.

use std::fmt;

use rand_core::CryptoRng;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::bytes::{Put, Reader};
use crate::dh::{TheirKey, public_of};
use crate::error::{DecodeError, SessionError};
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::limits::{SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS};

/// Domain separation for the signed-prekey signature.
const SIGNED_PREKEY_LABEL: &[u8] = b"Wren Signed Prekey v1";
/// Version byte of an encoded [`PrekeyBundle`].
const BUNDLE_VERSION: u8 = 1;
/// Version byte of serialized prekey secrets.
const SECRETS_VERSION: u8 = 1;

/// Parses an X25519 public key, rejecting the all-zero and other
/// small-order encodings that would make a DH output predictable.
pub(crate) fn x25519_public(
    bytes: [u8; 32],
    field: &'static str,
) -> Result<XPublicKey, DecodeError> {
    // Low-order points produce an all-zero shared secret; that is checked at
    // every DH (`was_contributory`). Here only reject the trivial zero key.
    if bytes == [0u8; 32] {
        return Err(DecodeError::InvalidKey(field));
    }
    Ok(XPublicKey::from(bytes))
}

/// The public half of a signed prekey, as published in bundles and pairing codes.
#[derive(Clone, Copy)]
pub struct SignedPrekey {
    id: u32,
    created_at: u64,
    public: XPublicKey,
    key: TheirKey,
    signature: [u8; 64],
}

impl SignedPrekey {
    /// Encoded length: id (4) ‖ created_at (8) ‖ public (32) ‖ signature (64).
    pub const LEN: usize = 108;

    /// Its identifier, named by prekey messages.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// When it was created (seconds since the Unix epoch).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The X25519 public key bytes.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    pub(crate) fn key(&self) -> &TheirKey {
        &self.key
    }

    fn signed_bytes(id: u32, created_at: u64, public: &XPublicKey) -> Vec<u8> {
        let mut m = Vec::with_capacity(SIGNED_PREKEY_LABEL.len() + 44);
        m.put(SIGNED_PREKEY_LABEL);
        m.put_u32(id);
        m.put_u64(created_at);
        m.put(public.as_bytes());
        m
    }

    /// Checks the identity's signature over this prekey.
    pub fn verify(&self, identity: &IdentityKey) -> Result<(), SessionError> {
        let m = Self::signed_bytes(self.id, self.created_at, &self.public);
        if identity.verify(&m, &self.signature) {
            Ok(())
        } else {
            Err(SessionError::BadPrekeySignature)
        }
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u64(self.created_at);
        out.put(self.public.as_bytes());
        out.put(&self.signature);
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.u32()?;
        let created_at = r.u64()?;
        let bytes = r.array()?;
        let public = x25519_public(bytes, "signed prekey")?;
        let key = TheirKey::new(bytes, "signed prekey")?;
        let signature = r.array()?;
        Ok(Self {
            id,
            created_at,
            public,
            key,
            signature,
        })
    }
}

impl fmt::Debug for SignedPrekey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPrekey")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A signed prekey with its secret.
pub struct SignedPrekeyPair {
    public: SignedPrekey,
    secret: StaticSecret,
}

impl SignedPrekeyPair {
    /// Generates and signs a new signed prekey.
    pub fn generate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
        rng: &mut R,
    ) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        Self::from_secret(identity, id, created_at, secret)
    }

    fn from_secret(
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
        secret: StaticSecret,
    ) -> Self {
        let (public, key) = public_of(&secret);
        let signature = identity.sign(&SignedPrekey::signed_bytes(id, created_at, &public));
        Self {
            public: SignedPrekey {
                id,
                created_at,
                public,
                key,
                signature,
            },
            secret,
        }
    }

    /// The public half.
    pub fn public(&self) -> &SignedPrekey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    fn encode_secret_into(&self, out: &mut Vec<u8>) {
        self.public.encode_into(out);
        out.put(self.secret.as_bytes());
    }

    fn decode_secret_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let public = SignedPrekey::decode_from(r)?;
        let secret = StaticSecret::from(*Zeroizing::new(r.array::<32>()?));
        if XPublicKey::from(&secret) != public.public {
            return Err(DecodeError::InvalidField(
                "signed prekey secret does not match its public key",
            ));
        }
        Ok(Self { public, secret })
    }
}

impl fmt::Debug for SignedPrekeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPrekeyPair")
            .field("public", &self.public)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Our signed prekeys: the current one and, for a grace period after a
/// rotation, the previous one.
///
/// Time is passed in (seconds since the Unix epoch): this crate reads no clock.
#[derive(Debug)]
pub struct SignedPrekeys {
    current: SignedPrekeyPair,
    /// The previous key and when it was retired.
    previous: Option<(SignedPrekeyPair, u64)>,
}

impl SignedPrekeys {
    /// Starts with a fresh signed prekey (id 1).
    pub fn new<R: CryptoRng + ?Sized>(identity: &IdentityKeyPair, now: u64, rng: &mut R) -> Self {
        Self {
            current: SignedPrekeyPair::generate(identity, 1, now, rng),
            previous: None,
        }
    }

    /// The key to publish now.
    pub fn current(&self) -> &SignedPrekeyPair {
        &self.current
    }

    /// Whether the current key is older than [`SIGNED_PREKEY_ROTATION_SECS`].
    pub fn needs_rotation(&self, now: u64) -> bool {
        now.saturating_sub(self.current.public.created_at) >= SIGNED_PREKEY_ROTATION_SECS
    }

    /// Replaces the current key with a new one; the old one stays usable for
    /// [`SIGNED_PREKEY_GRACE_SECS`]. Any older key is dropped (and zeroized).
    pub fn rotate<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &IdentityKeyPair,
        now: u64,
        rng: &mut R,
    ) {
        let id = self.current.public.id.wrapping_add(1).max(1);
        let next = SignedPrekeyPair::generate(identity, id, now, rng);
        let old = std::mem::replace(&mut self.current, next);
        self.previous = Some((old, now));
    }

    /// The key pair with this id, if it is current or still within its grace period.
    pub fn get(&self, id: u32, now: u64) -> Option<&SignedPrekeyPair> {
        if self.current.public.id == id {
            return Some(&self.current);
        }
        match &self.previous {
            Some((pair, retired))
                if pair.public.id == id
                    && now.saturating_sub(*retired) < SIGNED_PREKEY_GRACE_SECS =>
            {
                Some(pair)
            }
            _ => None,
        }
    }

    /// Serializes both keys with their secrets, for sealed storage.
    ///
    /// Layout: version (1) ‖ current (140) ‖ has_previous (1) [‖ previous (140) ‖ retired_at (8)].
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(290));
        out.put_u8(SECRETS_VERSION);
        self.current.encode_secret_into(&mut out);
        match &self.previous {
            Some((pair, retired)) => {
                out.put_u8(1);
                pair.encode_secret_into(&mut out);
                out.put_u64(*retired);
            }
            None => out.put_u8(0),
        }
        out
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(SECRETS_VERSION)?;
        let current = SignedPrekeyPair::decode_secret_from(&mut r)?;
        let previous = match r.u8()? {
            0 => None,
            1 => {
                let pair = SignedPrekeyPair::decode_secret_from(&mut r)?;
                Some((pair, r.u64()?))
            }
            _ => return Err(DecodeError::InvalidField("previous signed prekey flag")),
        };
        r.finish()?;
        Ok(Self { current, previous })
    }
}

/// A one-time prekey (public half): used by at most one session start.
#[derive(Clone, Copy, Debug)]
pub struct OneTimePrekey {
    /// Its identifier, named by the prekey message that uses it.
    pub id: u32,
    public: XPublicKey,
    key: TheirKey,
}

/// Equal when the encodings are equal (`key` is derived from `public`).
impl PartialEq for SignedPrekey {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.created_at, self.public, self.signature)
            == (other.id, other.created_at, other.public, other.signature)
    }
}

impl Eq for SignedPrekey {}

/// Equal when the encodings are equal (`key` is derived from `public`).
impl PartialEq for OneTimePrekey {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.public) == (other.id, other.public)
    }
}

impl Eq for OneTimePrekey {}

impl OneTimePrekey {
    fn of(id: u32, secret: &StaticSecret) -> Self {
        let (public, key) = public_of(secret);
        Self { id, public, key }
    }

    pub(crate) fn key(&self) -> &TheirKey {
        &self.key
    }

    /// The X25519 public key bytes.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.public.to_bytes()
    }
}

/// A one-time prekey with its secret. The owner deletes it once used.
pub struct OneTimePrekeyPair {
    public: OneTimePrekey,
    secret: StaticSecret,
}

impl OneTimePrekeyPair {
    /// Generates a one-time prekey.
    pub fn generate<R: CryptoRng + ?Sized>(id: u32, rng: &mut R) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        Self {
            public: OneTimePrekey::of(id, &secret),
            secret,
        }
    }

    /// The public half.
    pub fn public(&self) -> &OneTimePrekey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    /// Serializes with the secret, for sealed storage: id (4) ‖ secret (32).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(36));
        out.put_u32(self.public.id);
        out.put(self.secret.as_bytes());
        out
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let id = r.u32()?;
        let secret = StaticSecret::from(*Zeroizing::new(r.array::<32>()?));
        r.finish()?;
        Ok(Self {
            public: OneTimePrekey::of(id, &secret),
            secret,
        })
    }
}

impl fmt::Debug for OneTimePrekeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimePrekeyPair")
            .field("id", &self.public.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Everything needed to start a session with someone: their identity, a
/// signed prekey and optionally a one-time prekey. Unverified until
/// [`PrekeyBundle::verify`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrekeyBundle {
    identity: IdentityKey,
    signed_prekey: SignedPrekey,
    one_time_prekey: Option<OneTimePrekey>,
}

impl PrekeyBundle {
    /// Assembles a bundle.
    pub fn new(
        identity: IdentityKey,
        signed_prekey: SignedPrekey,
        one_time_prekey: Option<OneTimePrekey>,
    ) -> Self {
        Self {
            identity,
            signed_prekey,
            one_time_prekey,
        }
    }

    /// The identity the bundle claims.
    pub fn identity(&self) -> &IdentityKey {
        &self.identity
    }

    /// Verifies the signed prekey's signature by the identity.
    pub fn verify(self) -> Result<VerifiedBundle, SessionError> {
        self.signed_prekey.verify(&self.identity)?;
        Ok(VerifiedBundle(self))
    }

    /// Encodes: version (1) ‖ identity (32) ‖ signed prekey (108) ‖ flag (1) [‖ otk id (4) ‖ otk (32)].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(178);
        out.put_u8(BUNDLE_VERSION);
        out.put(self.identity.as_bytes());
        self.signed_prekey.encode_into(&mut out);
        match &self.one_time_prekey {
            Some(otk) => {
                out.put_u8(1);
                out.put_u32(otk.id);
                out.put(otk.public.as_bytes());
            }
            None => out.put_u8(0),
        }
        out
    }

    /// Decodes [`Self::to_bytes`]; does not verify (see [`Self::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(BUNDLE_VERSION)?;
        let identity = IdentityKey::from_bytes(&r.array()?)?;
        let signed_prekey = SignedPrekey::decode_from(&mut r)?;
        let one_time_prekey = match r.u8()? {
            0 => None,
            1 => {
                let id = r.u32()?;
                let bytes = r.array()?;
                Some(OneTimePrekey {
                    id,
                    public: x25519_public(bytes, "one-time prekey")?,
                    key: TheirKey::new(bytes, "one-time prekey")?,
                })
            }
            _ => return Err(DecodeError::InvalidField("one-time prekey flag")),
        };
        r.finish()?;
        Ok(Self {
            identity,
            signed_prekey,
            one_time_prekey,
        })
    }
}

/// A bundle whose signed prekey signature has been checked; the only input
/// from which a session can be initiated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VerifiedBundle(PrekeyBundle);

impl VerifiedBundle {
    /// Wraps a bundle whose signature the caller has already verified.
    pub(crate) fn new_checked(bundle: PrekeyBundle) -> Self {
        Self(bundle)
    }

    /// The verified bundle.
    pub fn bundle(&self) -> &PrekeyBundle {
        &self.0
    }

    pub(crate) fn identity(&self) -> &IdentityKey {
        &self.0.identity
    }

    pub(crate) fn signed_prekey(&self) -> &SignedPrekey {
        &self.0.signed_prekey
    }

    pub(crate) fn one_time_prekey(&self) -> Option<&OneTimePrekey> {
        self.0.one_time_prekey.as_ref()
    }
}
