//! Sender keys for groups (Signal-style): each member encrypts a group
//! message once with its own symmetric chain and signs it; the other members
//! hold that chain's key (handed out over the pairwise 1:1 sessions) and
//! follow it.
//!
//! - [`SenderKey`]: our own sending chain for one group.
//! - [`SenderKeyDistribution`]: what we send every other member (over the
//!   1:1 sessions) so they can read our messages from the current iteration on.
//! - [`SenderKeyReceiver`]: what we keep for one other member of one group:
//!   up to [`MAX_SENDER_KEY_CHAINS`] of its chains (newest first) and up to
//!   [`MAX_SENDER_KEY_SKIPPED_KEYS`] skipped message keys.
//!
//! # Chain
//!
//! A chain is `(chain id, iteration, chain key, Ed25519 signing key)`. Each
//! message advances it with KDF_CK: `mk = HMAC-SHA256(ck, 0x01)`,
//! `ck' = HMAC-SHA256(ck, 0x02)`. The message key is expanded with
//! `HKDF-SHA256(salt = none, ikm = mk, info = "Wren Sender Key Message v1")`
//! into a ChaCha20-Poly1305 key (32) and nonce (12). When a member leaves,
//! everyone who stays [rotates](SenderKey::rotate) (new id, chain key and
//! signing key) and sends the new distribution only to the remaining members.
//!
//! # Wire layouts (version byte first, integers big-endian)
//!
//! Distribution v1, exactly [`DISTRIBUTION_LEN`] = 73 bytes; it contains the
//! chain key, so it is secret and travels only inside 1:1 sessions:
//!
//! ```text
//! version (1) = 0x01 ‖ chain id (4) ‖ iteration (4) ‖ chain key (32) ‖ signature public key (32, Ed25519)
//! ```
//!
//! Message v1, [`MESSAGE_OVERHEAD`] = 89 bytes plus the plaintext length, at
//! most [`MAX_MESSAGE_BYTES`] (larger input is rejected before any work):
//!
//! ```text
//! version (1) = 0x01 ‖ chain id (4) ‖ iteration (4) ‖ ciphertext ‖ tag (16) ‖ signature (64)
//! ```
//!
//! - AEAD (ChaCha20-Poly1305) associated data: `context (32) ‖ header (the first 9 bytes)`,
//!   where the context is the group id.
//! - Signature: Ed25519 by the chain's signing key, verified strictly (RFC 8032
//!   with canonical `S` and `R`, no small-order `R` or key), over
//!   `"Wren Sender Key Message Signature v1" (36) ‖ context (32) ‖ every message byte before the signature`.
//!
//! # State layouts (sealed storage only: they contain secrets)
//!
//! Sender key state v1, exactly 73 bytes:
//!
//! ```text
//! version (1) = 0x01 ‖ chain id (4) ‖ iteration (4) ‖ chain key (32) ‖ Ed25519 signing seed (32)
//! ```
//!
//! The stored iteration and chain key are those of the end of the
//! reservation when one is in place ([`SenderKey::reserve`]): a restored
//! chain never reuses an iteration that may have been published.
//!
//! Receiver state v1:
//!
//! ```text
//! version (1) = 0x01
//! ‖ chain count (1, 1..=MAX_SENDER_KEY_CHAINS), then per chain, newest first:
//!     chain id (4) ‖ next iteration (4) ‖ chain key (32) ‖ signature public key (32)
//! ‖ skipped key count (2, 0..=MAX_SENDER_KEY_SKIPPED_KEYS), then per key, oldest first:
//!     chain id (4) ‖ iteration (4) ‖ message key (32)
//! ```
//!
//! Decoding checks every bound: chain ids are distinct, public keys are
//! canonical and not of small order, every skipped key belongs to a kept
//! chain, lies below that chain's next iteration and appears once.
//!
//! # Decryption
//!
//! Parse (bounded) → find the chain by id ([`SenderKeyError::UnknownChain`])
//! → verify the signature ([`SenderKeyError::BadSignature`]) → an iteration
//! below the chain's next one uses a stored skipped key, else it is a
//! [`SenderKeyError::Replay`] → a gap over [`MAX_SENDER_KEY_SKIP`] is
//! [`SenderKeyError::TooFarAhead`] → derive on a copy and open
//! ([`SenderKeyError::AuthenticationFailed`]) → commit (advance the chain,
//! store the skipped keys, evict the oldest past the cap). A failure never
//! changes the receiver's state.

use std::collections::VecDeque;
use std::fmt;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::aead::{TAG_LEN, seal_in_place};
use crate::bytes::{Put, Reader};
use crate::error::{DecodeError, SenderKeyError};
use crate::kdf::{CipherKeys, SENDER_KEY_MESSAGE_INFO, cipher_keys, kdf_ck, kdf_ck_peek};
use crate::keys::{ChainKey, MessageKey};
use crate::limits::{
    MAX_PLAINTEXT_BYTES, MAX_RESERVED_SENDER_KEYS, MAX_SENDER_KEY_CHAINS, MAX_SENDER_KEY_SKIP,
    MAX_SENDER_KEY_SKIPPED_KEYS,
};

/// Version byte of a distribution.
const DISTRIBUTION_VERSION: u8 = 1;
/// Version byte of a group message.
const MESSAGE_VERSION: u8 = 1;
/// Version byte of serialized [`SenderKey`] state.
const SENDER_STATE_VERSION: u8 = 1;
/// Version byte of serialized [`SenderKeyReceiver`] state.
const RECEIVER_STATE_VERSION: u8 = 1;

/// Domain separation for message signatures.
const SIGNATURE_LABEL: &[u8; 36] = b"Wren Sender Key Message Signature v1";
/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;
/// Length of a group id (the context).
const CONTEXT_LEN: usize = 32;

/// Length of an encoded [`SenderKeyDistribution`]: version (1) ‖ chain id (4)
/// ‖ iteration (4) ‖ chain key (32) ‖ signature public key (32).
pub const DISTRIBUTION_LEN: usize = 73;

/// Length of a message header: version (1) ‖ chain id (4) ‖ iteration (4).
pub const MESSAGE_HEADER_LEN: usize = 9;

/// Bytes a message adds to its plaintext: header, tag and signature.
pub const MESSAGE_OVERHEAD: usize = MESSAGE_HEADER_LEN + TAG_LEN + SIGNATURE_LEN;

/// Largest group message: the largest plaintext plus the overhead.
pub const MAX_MESSAGE_BYTES: usize = MAX_PLAINTEXT_BYTES + MESSAGE_OVERHEAD;

/// Length of serialized [`SenderKey`] state.
const SENDER_STATE_LEN: usize = 73;

/// Where the signed bytes start the work buffer: label ‖ context.
const SIGNED_PREFIX_LEN: usize = SIGNATURE_LABEL.len() + CONTEXT_LEN;
/// Length of the AEAD associated data: context ‖ header.
const AD_LEN: usize = CONTEXT_LEN + MESSAGE_HEADER_LEN;
/// Where the ciphertext starts in the work buffer.
const BODY_AT: usize = SIGNED_PREFIX_LEN + MESSAGE_HEADER_LEN;

/// Bytes of one chain in receiver state.
const RECEIVER_CHAIN_LEN: usize = 4 + 4 + 32 + 32;
/// Bytes of one skipped key in receiver state.
const SKIPPED_KEY_LEN: usize = 4 + 4 + 32;

// ---------------------------------------------------------------------------
// Our sending chain.

/// Our own sending chain for one group.
///
/// Every [`encrypt`](Self::encrypt) advances the chain: a message key is
/// used once and forgotten. The chain key and the signing key zeroize on
/// drop and never appear in `Debug`. [`Clone`] copies the exact state
/// (for encrypting with a copy that replaces the original once stored);
/// [`to_bytes`](Self::to_bytes) stores it past any reservation.
#[derive(Clone)]
pub struct SenderKey {
    chain_id: u32,
    /// The iteration of the next message.
    iteration: u32,
    chain: ChainKey,
    /// The serialized state starts at `max(iteration, reserved)`:
    /// iterations below `reserved` may be used before the state recording
    /// them is stored (see [`SenderKey::reserve`]).
    reserved: u32,
    /// The chain key at `reserved` while `reserved > iteration` (computed
    /// when the reservation grows, so storing costs no KDF steps).
    reserved_chain: Option<ChainKey>,
    /// Boxed so moving the sender key leaves no copy of the secret behind;
    /// it caches its public half.
    signing: Box<SigningKey>,
}

impl SenderKey {
    /// A fresh chain: random u32 chain id, random 32-byte chain key, fresh
    /// Ed25519 signing key, iteration 0 (drawn from `rng` in that order).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let chain_id = rng.next_u32();
        let mut chain = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(chain.as_mut());
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self {
            chain_id,
            iteration: 0,
            chain: ChainKey::from_bytes(&chain),
            reserved: 0,
            reserved_chain: None,
            signing: Box::new(SigningKey::from_bytes(&seed)),
        }
    }

    /// Lets the next `count` messages (at most
    /// [`MAX_RESERVED_SENDER_KEYS`]) be encrypted and published before the
    /// state recording them is stored.
    ///
    /// From now on [`Self::to_bytes`] stores the chain as if those
    /// iterations were already used. A node that publishes a message and
    /// crashes before storing its state then resumes after the reserved
    /// iterations, so it never encrypts a different message under an
    /// iteration already used; members see a gap in the counter (skipped
    /// keys, as for lost messages). Counts from the current iteration; a
    /// smaller reservation than the one in place changes nothing.
    pub fn reserve(&mut self, count: u32) {
        let until = self
            .iteration
            .saturating_add(count.min(MAX_RESERVED_SENDER_KEYS));
        if until <= self.reserved {
            return;
        }
        // Continue from the current reservation's end when there is one, so
        // each iteration costs one KDF step however often this is called.
        let (mut at, mut chain) = match &self.reserved_chain {
            Some(chain) if self.reserved > self.iteration => (self.reserved, chain.clone()),
            _ => (self.iteration, self.chain.clone()),
        };
        while at < until {
            drop(kdf_ck(&mut chain));
            at += 1;
        }
        self.reserved = until;
        self.reserved_chain = Some(chain);
    }

    /// How many more messages the stored state already covers (see
    /// [`Self::reserve`]).
    pub fn reserved(&self) -> u32 {
        self.reserved.saturating_sub(self.iteration)
    }

    /// The chain's id (random; names the chain in every message).
    pub fn chain_id(&self) -> u32 {
        self.chain_id
    }

    /// The iteration the next message will carry.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The distribution at the current iteration: whoever receives it can
    /// read our messages from now on, not the earlier ones. Copies the chain
    /// key out (into a zeroizing key).
    pub fn distribution(&self) -> SenderKeyDistribution {
        SenderKeyDistribution {
            chain_id: self.chain_id,
            iteration: self.iteration,
            chain: self.chain.clone(),
            signing: self.signing.verifying_key(),
        }
    }

    /// Encrypts and signs a group message. `context` (the group id) is bound
    /// as AEAD associated data and under the signature. Fails without
    /// changing state if the plaintext is too large or the chain is exhausted.
    pub fn encrypt(
        &mut self,
        context: &[u8; 32],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SenderKeyError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(SenderKeyError::PlaintextTooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_BYTES,
            });
        }
        let iteration = self.iteration;
        let next = iteration
            .checked_add(1)
            .ok_or(SenderKeyError::CounterExhausted)?;
        let mk = kdf_ck(&mut self.chain);
        self.iteration = next;

        // One buffer: label ‖ context ‖ header ‖ ciphertext ‖ tag is signed,
        // then the prefix is dropped and the signature appended in place.
        let mut buf = Vec::with_capacity(BODY_AT + plaintext.len() + TAG_LEN + SIGNATURE_LEN);
        buf.put(SIGNATURE_LABEL);
        buf.put(context);
        buf.put_u8(MESSAGE_VERSION);
        buf.put_u32(self.chain_id);
        buf.put_u32(iteration);
        buf.put(plaintext);
        let ad = associated_data(context, self.chain_id, iteration);
        seal_in_place(&mk, SENDER_KEY_MESSAGE_INFO, &ad, &mut buf, BODY_AT);
        let signature = self.signing.sign(&buf);
        buf.drain(..SIGNED_PREFIX_LEN);
        buf.put(&signature.to_bytes());
        Ok(buf)
    }

    /// Replaces the chain with a fresh one (new chain id, chain key and
    /// signing key; iteration 0), e.g. when a member leaves. The old secrets
    /// are zeroized. The new chain id always differs from the old one.
    pub fn rotate<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) {
        let mut next = Self::generate(rng);
        if next.chain_id == self.chain_id {
            next.chain_id = next.chain_id.wrapping_add(1);
        }
        *self = next;
    }

    /// Serializes the state, secrets included, for sealed storage (layout in
    /// the module documentation), at the end of the reservation if one is
    /// in place (see [`Self::reserve`]).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let (iteration, chain) = match &self.reserved_chain {
            Some(chain) if self.reserved > self.iteration => (self.reserved, chain),
            _ => (self.iteration, &self.chain),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(SENDER_STATE_LEN));
        out.put_u8(SENDER_STATE_VERSION);
        out.put_u32(self.chain_id);
        out.put_u32(iteration);
        out.put(chain.as_bytes());
        out.put(self.signing.as_bytes());
        out
    }

    /// Restores the state written by [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > SENDER_STATE_LEN {
            return Err(DecodeError::TooLong {
                field: "sender key state",
                len: bytes.len(),
                max: SENDER_STATE_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(SENDER_STATE_VERSION)?;
        let chain_id = r.u32()?;
        let iteration = r.u32()?;
        let chain = ChainKey::from_bytes(&Zeroizing::new(r.array()?));
        let seed = Zeroizing::new(r.array::<32>()?);
        r.finish()?;
        Ok(Self {
            chain_id,
            iteration,
            chain,
            reserved: iteration,
            reserved_chain: None,
            signing: Box::new(SigningKey::from_bytes(&seed)),
        })
    }
}

impl fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            chain_id,
            iteration,
            chain: _,
            reserved,
            reserved_chain: _,
            signing: _,
        } = self;
        f.debug_struct("SenderKey")
            .field("chain_id", chain_id)
            .field("iteration", iteration)
            .field("reserved", reserved)
            .field("chain_key", &format_args!("[redacted]"))
            .field("signing_key", &format_args!("[redacted]"))
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Distribution.

/// A member's chain at one iteration, sent to every other member over the
/// pairwise 1:1 sessions. It contains the chain key: it is secret.
#[derive(Clone)]
pub struct SenderKeyDistribution {
    chain_id: u32,
    iteration: u32,
    chain: ChainKey,
    /// Parsed once (canonical, not of small order).
    signing: VerifyingKey,
}

impl SenderKeyDistribution {
    /// The chain's id.
    pub fn chain_id(&self) -> u32 {
        self.chain_id
    }

    /// The first iteration its holder can decrypt.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The 73-byte encoding (layout in the module documentation). It contains
    /// the chain key: send it only inside a 1:1 session.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(DISTRIBUTION_LEN));
        out.put_u8(DISTRIBUTION_VERSION);
        out.put_u32(self.chain_id);
        out.put_u32(self.iteration);
        out.put(self.chain.as_bytes());
        out.put(self.signing.as_bytes());
        out
    }

    /// Parses exactly [`DISTRIBUTION_LEN`] bytes; rejects a signature key that
    /// is not a canonical Ed25519 point or is of small order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > DISTRIBUTION_LEN {
            return Err(DecodeError::TooLong {
                field: "sender key distribution",
                len: bytes.len(),
                max: DISTRIBUTION_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(DISTRIBUTION_VERSION)?;
        let chain_id = r.u32()?;
        let iteration = r.u32()?;
        let chain = ChainKey::from_bytes(&Zeroizing::new(r.array()?));
        let signing = signature_key(&r.array()?)?;
        r.finish()?;
        Ok(Self {
            chain_id,
            iteration,
            chain,
            signing,
        })
    }
}

impl fmt::Debug for SenderKeyDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            chain_id,
            iteration,
            chain: _,
            signing: _,
        } = self;
        f.debug_struct("SenderKeyDistribution")
            .field("chain_id", chain_id)
            .field("iteration", iteration)
            .field("chain_key", &format_args!("[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Parses an Ed25519 public key, rejecting non-canonical encodings and
/// small-order points (which would accept forged signatures).
fn signature_key(bytes: &[u8; 32]) -> Result<VerifyingKey, DecodeError> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| DecodeError::InvalidKey("sender key signature"))?;
    if key.is_weak() || key.to_edwards().compress().as_bytes() != bytes {
        return Err(DecodeError::InvalidKey("sender key signature"));
    }
    Ok(key)
}

// ---------------------------------------------------------------------------
// Receiving.

/// One of a member's chains as we follow it.
struct ReceiverChain {
    chain_id: u32,
    /// The iteration `chain` is at: the next one not yet derived.
    next: u32,
    chain: ChainKey,
    signing: VerifyingKey,
}

impl ReceiverChain {
    fn from_distribution(d: &SenderKeyDistribution) -> Self {
        Self {
            chain_id: d.chain_id,
            next: d.iteration,
            chain: d.chain.clone(),
            signing: d.signing,
        }
    }
}

/// A message key passed over on the way to a later message.
struct SkippedKey {
    chain_id: u32,
    iteration: u32,
    key: MessageKey,
}

/// What we keep for one other member of one group: its newest
/// [`MAX_SENDER_KEY_CHAINS`] chains and up to
/// [`MAX_SENDER_KEY_SKIPPED_KEYS`] skipped message keys.
///
/// Decryption is transactional: state changes only when a message verifies
/// and authenticates.
pub struct SenderKeyReceiver {
    /// Newest first; never empty, ids distinct.
    chains: VecDeque<ReceiverChain>,
    /// Oldest first; each belongs to a kept chain, below its `next`.
    skipped: VecDeque<SkippedKey>,
}

/// A message split into its fields, borrowing the input.
struct ParsedMessage<'a> {
    chain_id: u32,
    iteration: u32,
    /// Everything before the signature (header ‖ ciphertext ‖ tag).
    signed: &'a [u8],
    signature: [u8; SIGNATURE_LEN],
}

impl<'a> ParsedMessage<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLong {
                field: "sender key message",
                len: bytes.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(MESSAGE_VERSION)?;
        let chain_id = r.u32()?;
        let iteration = r.u32()?;
        let need = TAG_LEN + SIGNATURE_LEN;
        if r.remaining() < need {
            return Err(DecodeError::Truncated {
                needed: need - r.remaining(),
            });
        }
        let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let signature = signature
            .try_into()
            .map_err(|_| DecodeError::InvalidField("signature"))?;
        Ok(Self {
            chain_id,
            iteration,
            signed,
            signature,
        })
    }
}

impl SenderKeyReceiver {
    /// Starts following a member's chain from its distribution.
    pub fn new(distribution: &SenderKeyDistribution) -> Self {
        let mut chains = VecDeque::with_capacity(MAX_SENDER_KEY_CHAINS);
        chains.push_back(ReceiverChain::from_distribution(distribution));
        Self {
            chains,
            skipped: VecDeque::new(),
        }
    }

    /// Adds a member's new (rotated) chain as the newest; past
    /// [`MAX_SENDER_KEY_CHAINS`] the oldest chain and its skipped keys are
    /// dropped.
    ///
    /// A distribution for a chain id we already hold is ignored, whatever
    /// its iteration or keys: we already hold that chain at least as far
    /// back, and re-adding it would rewind replay protection.
    pub fn add(&mut self, distribution: &SenderKeyDistribution) {
        if self
            .chains
            .iter()
            .any(|c| c.chain_id == distribution.chain_id)
        {
            return;
        }
        self.chains
            .push_front(ReceiverChain::from_distribution(distribution));
        while self.chains.len() > MAX_SENDER_KEY_CHAINS {
            if let Some(old) = self.chains.pop_back() {
                self.skipped.retain(|s| s.chain_id != old.chain_id);
            }
        }
    }

    /// The chain ids we follow, newest first.
    pub fn chain_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.chains.iter().map(|c| c.chain_id)
    }

    /// How many skipped message keys are stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Verifies and decrypts a group message sent in `context` (the group
    /// id). On any error the state is unchanged.
    pub fn decrypt(
        &mut self,
        context: &[u8; 32],
        message: &[u8],
    ) -> Result<Vec<u8>, SenderKeyError> {
        let parsed = ParsedMessage::parse(message)?;
        let Some(pos) = self
            .chains
            .iter()
            .position(|c| c.chain_id == parsed.chain_id)
        else {
            return Err(SenderKeyError::UnknownChain(parsed.chain_id));
        };
        let Some(chain) = self.chains.get(pos) else {
            return Err(SenderKeyError::UnknownChain(parsed.chain_id));
        };

        // One buffer: label ‖ context ‖ header ‖ ciphertext ‖ tag is verified,
        // then decrypted in place and trimmed to the plaintext.
        let mut buf = Vec::with_capacity(SIGNED_PREFIX_LEN + parsed.signed.len());
        buf.put(SIGNATURE_LABEL);
        buf.put(context);
        buf.put(parsed.signed);
        chain
            .signing
            .verify_strict(&buf, &Signature::from_bytes(&parsed.signature))
            .map_err(|_| SenderKeyError::BadSignature)?;
        let ad = associated_data(context, parsed.chain_id, parsed.iteration);

        if parsed.iteration < chain.next {
            let Some(at) = self
                .skipped
                .iter()
                .position(|s| s.chain_id == parsed.chain_id && s.iteration == parsed.iteration)
            else {
                return Err(SenderKeyError::Replay);
            };
            let Some(skipped) = self.skipped.get(at) else {
                return Err(SenderKeyError::Replay);
            };
            open_in_place(&skipped.key, &ad, &mut buf)?;
            self.skipped.remove(at);
            return Ok(buf);
        }

        let gap = parsed.iteration - chain.next;
        if gap > MAX_SENDER_KEY_SKIP {
            return Err(SenderKeyError::TooFarAhead {
                gap,
                max: MAX_SENDER_KEY_SKIP,
            });
        }
        let after = parsed
            .iteration
            .checked_add(1)
            .ok_or(SenderKeyError::CounterExhausted)?;
        let (mk, next_chain, new_skipped) = if gap == 0 {
            let (mk, next_chain) = kdf_ck_peek(&chain.chain);
            (mk, next_chain, Vec::new())
        } else {
            let mut copy = chain.chain.clone();
            let mut new_skipped = Vec::with_capacity(gap as usize);
            for iteration in chain.next..parsed.iteration {
                new_skipped.push(SkippedKey {
                    chain_id: parsed.chain_id,
                    iteration,
                    key: kdf_ck(&mut copy),
                });
            }
            let (mk, next_chain) = kdf_ck_peek(&copy);
            (mk, next_chain, new_skipped)
        };
        open_in_place(&mk, &ad, &mut buf)?;

        // Commit.
        if let Some(chain) = self.chains.get_mut(pos) {
            chain.chain.replace(&next_chain);
            chain.next = after;
        }
        self.skipped.extend(new_skipped);
        while self.skipped.len() > MAX_SENDER_KEY_SKIPPED_KEYS {
            self.skipped.pop_front();
        }
        Ok(buf)
    }

    /// Serializes the state, secrets included, for sealed storage (layout in
    /// the module documentation).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            1 + 1
                + self.chains.len() * RECEIVER_CHAIN_LEN
                + 2
                + self.skipped.len() * SKIPPED_KEY_LEN,
        ));
        out.put_u8(RECEIVER_STATE_VERSION);
        out.put_u8(self.chains.len() as u8);
        for c in &self.chains {
            out.put_u32(c.chain_id);
            out.put_u32(c.next);
            out.put(c.chain.as_bytes());
            out.put(c.signing.as_bytes());
        }
        out.put_u16(self.skipped.len() as u16);
        for s in &self.skipped {
            out.put_u32(s.chain_id);
            out.put_u32(s.iteration);
            out.put(s.key.as_bytes());
        }
        out
    }

    /// Restores the state written by [`Self::to_bytes`], checking every bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let max = 1
            + 1
            + MAX_SENDER_KEY_CHAINS * RECEIVER_CHAIN_LEN
            + 2
            + MAX_SENDER_KEY_SKIPPED_KEYS * SKIPPED_KEY_LEN;
        if bytes.len() > max {
            return Err(DecodeError::TooLong {
                field: "sender key receiver state",
                len: bytes.len(),
                max,
            });
        }
        let mut r = Reader::new(bytes);
        r.version(RECEIVER_STATE_VERSION)?;
        let n = usize::from(r.u8()?);
        if n == 0 {
            return Err(DecodeError::InvalidField(
                "sender key receiver without chains",
            ));
        }
        if n > MAX_SENDER_KEY_CHAINS {
            return Err(DecodeError::TooLong {
                field: "sender key chains",
                len: n,
                max: MAX_SENDER_KEY_CHAINS,
            });
        }
        let mut chains: VecDeque<ReceiverChain> = VecDeque::with_capacity(MAX_SENDER_KEY_CHAINS);
        for _ in 0..n {
            let chain_id = r.u32()?;
            let next = r.u32()?;
            let chain = ChainKey::from_bytes(&Zeroizing::new(r.array()?));
            let signing = signature_key(&r.array()?)?;
            if chains.iter().any(|c| c.chain_id == chain_id) {
                return Err(DecodeError::InvalidField("duplicate sender key chain id"));
            }
            chains.push_back(ReceiverChain {
                chain_id,
                next,
                chain,
                signing,
            });
        }
        let n = usize::from(r.u16()?);
        if n > MAX_SENDER_KEY_SKIPPED_KEYS {
            return Err(DecodeError::TooLong {
                field: "sender key skipped keys",
                len: n,
                max: MAX_SENDER_KEY_SKIPPED_KEYS,
            });
        }
        let mut skipped = VecDeque::with_capacity(n);
        let mut seen = Vec::with_capacity(n);
        for _ in 0..n {
            let chain_id = r.u32()?;
            let iteration = r.u32()?;
            let key = MessageKey::from_bytes(&Zeroizing::new(r.array()?));
            if !chains
                .iter()
                .any(|c| c.chain_id == chain_id && iteration < c.next)
            {
                return Err(DecodeError::InvalidField("sender key skipped key"));
            }
            seen.push((chain_id, iteration));
            skipped.push_back(SkippedKey {
                chain_id,
                iteration,
                key,
            });
        }
        r.finish()?;
        seen.sort_unstable();
        if seen.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(DecodeError::InvalidField(
                "duplicate sender key skipped key",
            ));
        }
        Ok(Self { chains, skipped })
    }
}

impl fmt::Debug for SenderKeyReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Chains<'a>(&'a VecDeque<ReceiverChain>);
        impl fmt::Debug for Chains<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|c| (c.chain_id, c.next)))
                    .finish()
            }
        }
        f.debug_struct("SenderKeyReceiver")
            .field("chains", &Chains(&self.chains))
            .field("skipped_keys", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

/// The AEAD associated data: context ‖ header.
fn associated_data(context: &[u8; 32], chain_id: u32, iteration: u32) -> [u8; AD_LEN] {
    let mut ad = [0u8; AD_LEN];
    let (ctx, header) = ad.split_at_mut(CONTEXT_LEN);
    ctx.copy_from_slice(context);
    let (version, rest) = header.split_at_mut(1);
    version.copy_from_slice(&[MESSAGE_VERSION]);
    let (id, it) = rest.split_at_mut(4);
    id.copy_from_slice(&chain_id.to_be_bytes());
    it.copy_from_slice(&iteration.to_be_bytes());
    ad
}

/// Opens the work buffer `label ‖ context ‖ header ‖ ciphertext ‖ tag` in
/// place and trims it to the plaintext. On failure the buffer is left as is.
fn open_in_place(
    mk: &MessageKey,
    ad: &[u8; AD_LEN],
    buf: &mut Vec<u8>,
) -> Result<(), SenderKeyError> {
    let tag_at = buf
        .len()
        .checked_sub(TAG_LEN)
        .filter(|at| *at >= BODY_AT)
        .ok_or(SenderKeyError::AuthenticationFailed)?;
    let (body, tag) = buf.split_at_mut(tag_at);
    let tag: [u8; TAG_LEN] = (&*tag)
        .try_into()
        .map_err(|_| SenderKeyError::AuthenticationFailed)?;
    let region = body
        .get_mut(BODY_AT..)
        .ok_or(SenderKeyError::AuthenticationFailed)?;
    let CipherKeys { key, nonce } = cipher_keys(mk, SENDER_KEY_MESSAGE_INFO);
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt_inout_detached(&Nonce::from(nonce), ad, region.into(), &Tag::from(tag))
        .map_err(|_| SenderKeyError::AuthenticationFailed)?;
    buf.truncate(tag_at);
    buf.drain(..BODY_AT);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_constants_add_up() {
        assert_eq!(SIGNATURE_LABEL.len(), 36);
        assert_eq!(SIGNATURE_LABEL.len() + AD_LEN, BODY_AT);
        assert_eq!(MESSAGE_OVERHEAD, 89);
        assert_eq!(MAX_MESSAGE_BYTES, MAX_PLAINTEXT_BYTES + 89);
    }

    #[test]
    fn associated_data_is_context_then_header() {
        let ad = associated_data(&[7; 32], 0x0102_0304, 0x0a0b_0c0d);
        assert_eq!(&ad[..32], &[7; 32]);
        assert_eq!(&ad[32..], &[1, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
    }

    #[test]
    fn small_order_and_non_canonical_signature_keys_are_rejected() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(signature_key(&identity).is_err());
        // A valid point with a small y, encoded canonically (y) and not (y + p).
        let mut found = false;
        for y in 2u8..=18 {
            let mut canonical = [0u8; 32];
            canonical[0] = y;
            let Ok(key) = VerifyingKey::from_bytes(&canonical) else {
                continue;
            };
            if key.is_weak() {
                continue;
            }
            found = true;
            assert!(signature_key(&canonical).is_ok());
            // p = 2^255 - 19 = ed ff … ff 7f (little-endian).
            let mut non_canonical = [0xffu8; 32];
            non_canonical[0] = 0xed + y;
            non_canonical[31] = 0x7f;
            assert!(VerifyingKey::from_bytes(&non_canonical).is_ok());
            assert_eq!(
                signature_key(&non_canonical).err(),
                Some(DecodeError::InvalidKey("sender key signature"))
            );
        }
        assert!(found);
    }
}
