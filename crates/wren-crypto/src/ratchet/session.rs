//! One double-ratchet session with one peer (Signal's Double Ratchet with
//! X3DH start; the deviations are listed in docs/protocol.md).

use std::collections::VecDeque;
use std::fmt;

use rand_core::CryptoRng;
use x25519_dalek::{PublicKey as XPublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::message::{
    HEADER_LEN, Header, MAX_PREKEY_PREFIX_LEN, OutboundMessage, ParsedMessage, PrekeyMessage,
};
use crate::aead::{TAG_LEN, open, seal_in_place};
use crate::bytes::{Put, Reader};
use crate::dh::{TheirKey, dh};
use crate::error::{DecodeError, SessionError};
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::kdf::{MESSAGE_INFO, kdf_ck, kdf_rk};
use crate::keys::{ChainKey, MessageKey, RootKey};
use crate::limits::{
    MAX_PLAINTEXT_BYTES, MAX_PREVIOUS_RECEIVING_CHAINS, MAX_RESERVED_SENDING_KEYS, MAX_SKIP,
    MAX_SKIPPED_KEYS,
};
use crate::prekey::{OneTimePrekeyPair, SignedPrekeyPair, VerifiedBundle};
use crate::x3dh;

/// Version byte of serialized session state.
const STATE_VERSION: u8 = 1;

/// Our current ratchet key pair; the public half is cached (deriving it
/// costs a base-point multiplication).
struct RatchetKeyPair {
    secret: StaticSecret,
    public: XPublicKey,
}

impl RatchetKeyPair {
    fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = XPublicKey::from(&secret);
        Self { secret, public }
    }
}

struct SendingChain {
    chain: ChainKey,
    index: u32,
    /// The serialized state starts at `max(index, reserved)`: keys below
    /// `reserved` may be used before the state recording them is stored
    /// (see [`Session::reserve_sending_keys`]).
    reserved: u32,
    /// The chain key at `reserved` while `reserved > index` (computed when
    /// the reservation grows, so storing the state costs no KDF steps).
    reserved_chain: Option<ChainKey>,
}

struct ReceivingChain {
    ratchet: [u8; 32],
    /// The same key, converted for DH once.
    their: TheirKey,
    chain: ChainKey,
    index: u32,
}

struct SkippedKey {
    ratchet: [u8; 32],
    index: u32,
    key: MessageKey,
}

/// The prekeys a session was started with: repeated by the initiator in
/// every prekey message until the responder answers, and checked by the
/// responder against every later prekey message for the session.
#[derive(Clone, Copy, PartialEq, Eq)]
struct PrekeyIds {
    signed_prekey_id: u32,
    one_time_prekey_id: Option<u32>,
}

/// A double-ratchet session.
///
/// Decryption is transactional: the state changes only when a message
/// authenticates (every derivation is made on copies and committed after).
pub struct Session {
    remote: IdentityKey,
    /// `initiator identity ‖ responder identity`, authenticated with every message.
    associated_data: [u8; 64],
    /// The initiator's X3DH ephemeral public key: names the session.
    base_key: [u8; 32],
    initiator: bool,
    /// Whether we have received a message on this session.
    confirmed: bool,
    /// Set for both roles; prekey messages are sent while `initiator && !confirmed`.
    prekey_ids: PrekeyIds,
    root: RootKey,
    ratchet: Option<RatchetKeyPair>,
    sending: Option<SendingChain>,
    previous_sending_len: u32,
    receiving: Option<ReceivingChain>,
    /// Recently replaced receiving chains: (ratchet key, first index never derived).
    previous_receiving: VecDeque<([u8; 32], u32)>,
    /// Skipped message keys, oldest first.
    skipped: VecDeque<SkippedKey>,
}

impl Session {
    /// Starts a session as initiator with a peer's verified bundle.
    ///
    /// The X3DH ephemeral key doubles as our first ratchet key, and the first
    /// sending chain key comes straight from X3DH (as in Olm), so starting a
    /// session costs three (or four) Diffie-Hellman operations and no more.
    pub fn initiate<R: CryptoRng + ?Sized>(
        ours: &IdentityKeyPair,
        theirs: &VerifiedBundle,
        rng: &mut R,
    ) -> Result<Self, SessionError> {
        let ephemeral = RatchetKeyPair::generate(rng);
        let out = x3dh::initiate(ours, theirs, &ephemeral.secret)?;
        Ok(Self {
            remote: *theirs.identity(),
            associated_data: out.associated_data,
            base_key: ephemeral.public.to_bytes(),
            initiator: true,
            confirmed: false,
            prekey_ids: PrekeyIds {
                signed_prekey_id: theirs.signed_prekey().id(),
                one_time_prekey_id: theirs.one_time_prekey().map(|k| k.id),
            },
            root: out.root,
            ratchet: Some(ephemeral),
            sending: Some(SendingChain {
                reserved: 0,
                reserved_chain: None,
                chain: out.chain,
                index: 0,
            }),
            previous_sending_len: 0,
            receiving: None,
            previous_receiving: VecDeque::new(),
            skipped: VecDeque::new(),
        })
    }

    /// Accepts a prekey message as responder: runs X3DH with the signed
    /// prekey (and one-time prekey) it names, which the caller looked up, and
    /// decrypts the embedded message. Nothing is returned unless it decrypts.
    pub fn respond(
        ours: &IdentityKeyPair,
        signed_prekey: &SignedPrekeyPair,
        one_time_prekey: Option<&OneTimePrekeyPair>,
        message: &PrekeyMessage,
    ) -> Result<(Self, Vec<u8>), SessionError> {
        if signed_prekey.public().id() != message.signed_prekey_id() {
            return Err(SessionError::UnknownSignedPrekey(
                message.signed_prekey_id(),
            ));
        }
        match (message.one_time_prekey_id(), one_time_prekey) {
            (Some(id), Some(k)) if k.public().id == id => {}
            (None, None) => {}
            (Some(id), _) => return Err(SessionError::UnknownOneTimePrekey(id)),
            (None, Some(k)) => return Err(SessionError::UnknownOneTimePrekey(k.public().id)),
        }
        let base = TheirKey::new(*message.base_key(), "base")?;
        let out = x3dh::respond(
            ours,
            signed_prekey,
            one_time_prekey,
            message.identity(),
            &base,
        )?;
        let mut session = Self {
            remote: *message.identity(),
            associated_data: out.associated_data,
            base_key: *message.base_key(),
            initiator: false,
            confirmed: true,
            prekey_ids: PrekeyIds {
                signed_prekey_id: message.signed_prekey_id(),
                one_time_prekey_id: message.one_time_prekey_id(),
            },
            root: out.root,
            ratchet: None,
            sending: None,
            previous_sending_len: 0,
            receiving: Some(ReceivingChain {
                ratchet: *message.base_key(),
                their: base,
                chain: out.chain,
                index: 0,
            }),
            previous_receiving: VecDeque::new(),
            skipped: VecDeque::new(),
        };
        let plaintext = session.decrypt(message.message())?;
        Ok((session, plaintext))
    }

    /// The peer's identity.
    pub fn remote_identity(&self) -> &IdentityKey {
        &self.remote
    }

    /// The initiator's base key: equal on both sides, it names the session.
    pub fn base_key(&self) -> &[u8; 32] {
        &self.base_key
    }

    /// Whether we started this session.
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }

    /// Whether we have received at least one message on it (the responder
    /// always has; the initiator once the peer answered).
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// Encrypts a plaintext. Until the peer has answered, the result is a
    /// prekey message.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<OutboundMessage, SessionError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(SessionError::PlaintextTooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_BYTES,
            });
        }
        if self.sending.is_none() {
            self.step_sending_ratchet(rng)?;
        }
        let (Some(sending), Some(ratchet)) = (self.sending.as_mut(), self.ratchet.as_ref()) else {
            return Err(SessionError::CounterExhausted);
        };
        let counter = sending.index;
        sending.index = counter
            .checked_add(1)
            .ok_or(SessionError::CounterExhausted)?;
        let mk = kdf_ck(&mut sending.chain);
        let header = Header {
            ratchet: ratchet.public.to_bytes(),
            previous: self.previous_sending_len,
            counter,
        };

        let mut out =
            Vec::with_capacity(MAX_PREKEY_PREFIX_LEN + HEADER_LEN + plaintext.len() + TAG_LEN);
        let pending = self.initiator && !self.confirmed;
        if pending {
            let p = self.prekey_ids;
            let identity: [u8; 32] = self
                .associated_data
                .get(..32)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 32]);
            PrekeyMessage::encode_prefix(
                &mut out,
                &identity,
                &self.base_key,
                p.signed_prekey_id,
                p.one_time_prekey_id,
            );
        }
        let header_at = out.len();
        header.encode_into(&mut out);
        let body_at = out.len();
        out.extend_from_slice(plaintext);
        let mut ad = [0u8; 64 + HEADER_LEN];
        let (ad_id, ad_header) = ad.split_at_mut(64);
        ad_id.copy_from_slice(&self.associated_data);
        if let Some(h) = out.get(header_at..body_at) {
            ad_header.copy_from_slice(h);
        }
        seal_in_place(&mk, MESSAGE_INFO, &ad, &mut out, body_at);
        Ok(if pending {
            OutboundMessage::Prekey(out)
        } else {
            OutboundMessage::Normal(out)
        })
    }

    /// Lets the next `count` messages (at most
    /// [`MAX_RESERVED_SENDING_KEYS`]) be encrypted and sent before the state
    /// recording them is stored.
    ///
    /// From now on [`Self::to_bytes`] stores the sending chain as if those
    /// keys were already used. A node that sends a message and crashes
    /// before storing its state then resumes after the reserved keys, so it
    /// can never encrypt a different message with a key already used; the
    /// peer sees a gap in the counter (skipped keys, as for lost messages).
    /// Counts from the current index; a smaller reservation than the one in
    /// place changes nothing. Without a sending chain (the first message
    /// after a new ratchet key from the peer takes a DH step, see
    /// [`Self::prepare_sending_chain`]) there is nothing to reserve and it
    /// returns `false`.
    pub fn reserve_sending_keys(&mut self, count: u32) -> bool {
        let Some(sending) = self.sending.as_mut() else {
            return false;
        };
        let until = sending
            .index
            .saturating_add(count.min(MAX_RESERVED_SENDING_KEYS));
        if until <= sending.reserved {
            return true;
        }
        // Continue from the current reservation's end when there is one, so
        // each key costs one KDF step however often this is called.
        let (mut at, mut chain) = match &sending.reserved_chain {
            Some(chain) if sending.reserved > sending.index => (sending.reserved, chain.clone()),
            _ => (sending.index, sending.chain.clone()),
        };
        while at < until {
            drop(kdf_ck(&mut chain));
            at += 1;
        }
        sending.reserved = until;
        sending.reserved_chain = Some(chain);
        true
    }

    /// How many more messages the stored state already covers (see
    /// [`Self::reserve_sending_keys`]): 0 without a sending chain.
    pub fn reserved_sending_keys(&self) -> u32 {
        self.sending
            .as_ref()
            .map_or(0, |s| s.reserved.saturating_sub(s.index))
    }

    /// Takes the sending half of a pending DH ratchet step now instead of
    /// at the next [`Self::encrypt`], so that the new sending chain can be
    /// stored (and reserved) before a message needs it. Returns whether a
    /// step was taken. The messages produced are the same as with the lazy
    /// step; only the moment the new ratchet key is drawn changes.
    pub fn prepare_sending_chain<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<bool, SessionError> {
        if self.sending.is_some() || self.receiving.is_none() {
            return Ok(false);
        }
        self.step_sending_ratchet(rng)?;
        Ok(true)
    }

    /// The sending half of a DH ratchet step, taken lazily at the first
    /// send after a new ratchet key was received.
    fn step_sending_ratchet<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<(), SessionError> {
        let Some(receiving) = &self.receiving else {
            return Err(SessionError::CounterExhausted);
        };
        let next = RatchetKeyPair::generate(rng);
        let shared = dh(&next.secret, &receiving.their).ok_or(SessionError::NonContributory)?;
        let (root, chain) = kdf_rk(&self.root, &shared);
        self.root = root;
        self.ratchet = Some(next);
        self.sending = Some(SendingChain {
            chain,
            index: 0,
            reserved: 0,
            reserved_chain: None,
        });
        Ok(())
    }

    /// Decrypts a ratchet message (the bytes of a normal message, or the
    /// embedded message of a prekey message for this session).
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Vec<u8>, SessionError> {
        let parsed = ParsedMessage::parse(message)?;
        let h = parsed.header;
        let mut ad = [0u8; 64 + HEADER_LEN];
        let (ad_id, ad_header) = ad.split_at_mut(64);
        ad_id.copy_from_slice(&self.associated_data);
        ad_header.copy_from_slice(parsed.header_bytes);

        // 1. A key we skipped earlier.
        if let Some(pos) = self
            .skipped
            .iter()
            .position(|s| s.index == h.counter && s.ratchet == h.ratchet)
        {
            let plaintext = match self.skipped.get(pos) {
                Some(s) => open(&s.key, MESSAGE_INFO, &ad, parsed.sealed)
                    .ok_or(SessionError::AuthenticationFailed)?,
                None => return Err(SessionError::AuthenticationFailed),
            };
            self.skipped.remove(pos);
            self.confirm();
            return Ok(plaintext);
        }

        // 2. The current receiving chain.
        if let Some(rc) = self.receiving.as_ref().filter(|rc| rc.ratchet == h.ratchet) {
            if h.counter < rc.index {
                return Err(SessionError::Replay);
            }
            let mut chain = rc.chain.clone();
            let mut new_skipped = Vec::new();
            skip_to(&mut chain, rc.index, h.counter, h.ratchet, &mut new_skipped)?;
            let mk = kdf_ck(&mut chain);
            let plaintext = open(&mk, MESSAGE_INFO, &ad, parsed.sealed)
                .ok_or(SessionError::AuthenticationFailed)?;
            if let Some(rc) = self.receiving.as_mut() {
                rc.chain = chain;
                rc.index = h.counter.saturating_add(1);
            }
            self.store_skipped(new_skipped);
            self.confirm();
            return Ok(plaintext);
        }

        // 3. A chain we already left: whatever is not among the skipped keys was consumed.
        if let Some((_, next)) = self
            .previous_receiving
            .iter()
            .find(|(k, _)| *k == h.ratchet)
        {
            return Err(if h.counter < *next {
                SessionError::Replay
            } else {
                SessionError::AuthenticationFailed
            });
        }

        // 4. A new ratchet key from the peer: the receiving half of a DH ratchet step.
        let Some(ours) = self.ratchet.as_ref() else {
            return Err(SessionError::AuthenticationFailed);
        };
        let their = TheirKey::new(h.ratchet, "ratchet")?;
        let mut new_skipped = Vec::new();
        let mut retired = None;
        if let Some(rc) = &self.receiving {
            let mut chain = rc.chain.clone();
            if h.previous > rc.index {
                skip_to(
                    &mut chain,
                    rc.index,
                    h.previous,
                    rc.ratchet,
                    &mut new_skipped,
                )?;
            }
            retired = Some((rc.ratchet, rc.index.max(h.previous)));
        }
        let shared = dh(&ours.secret, &their).ok_or(SessionError::NonContributory)?;
        let (root, mut chain) = kdf_rk(&self.root, &shared);
        skip_to(&mut chain, 0, h.counter, h.ratchet, &mut new_skipped)?;
        let mk = kdf_ck(&mut chain);
        let plaintext = open(&mk, MESSAGE_INFO, &ad, parsed.sealed)
            .ok_or(SessionError::AuthenticationFailed)?;

        // Commit.
        if let Some(r) = retired {
            self.previous_receiving.push_back(r);
            while self.previous_receiving.len() > MAX_PREVIOUS_RECEIVING_CHAINS {
                self.previous_receiving.pop_front();
            }
        }
        self.root = root;
        self.receiving = Some(ReceivingChain {
            ratchet: h.ratchet,
            their,
            chain,
            index: h.counter.saturating_add(1),
        });
        if let Some(s) = self.sending.take() {
            self.previous_sending_len = s.index;
        }
        self.store_skipped(new_skipped);
        self.confirm();
        Ok(plaintext)
    }

    fn confirm(&mut self) {
        self.confirmed = true;
    }

    /// Whether a prekey message names the prekeys this session was started
    /// with. The ids are not covered by the AEAD, so a prekey message routed
    /// to an existing session by its base key must pass this check.
    pub(crate) fn started_with(&self, message: &PrekeyMessage) -> bool {
        self.prekey_ids
            == PrekeyIds {
                signed_prekey_id: message.signed_prekey_id(),
                one_time_prekey_id: message.one_time_prekey_id(),
            }
    }

    fn store_skipped(&mut self, keys: Vec<SkippedKey>) {
        self.skipped.extend(keys);
        while self.skipped.len() > MAX_SKIPPED_KEYS {
            self.skipped.pop_front();
        }
    }

    /// How many skipped message keys are stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Serializes the whole state, secrets included, for sealed storage.
    /// The layout is specified in docs/protocol.md ("Session state").
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(300 + self.skipped.len() * 68));
        out.put_u8(STATE_VERSION);
        out.put_u8(u8::from(self.initiator) | (u8::from(self.confirmed) << 1));
        out.put(self.remote.as_bytes());
        out.put(&self.associated_data);
        out.put(&self.base_key);
        out.put_u32(self.prekey_ids.signed_prekey_id);
        match self.prekey_ids.one_time_prekey_id {
            Some(id) => {
                out.put_u8(1);
                out.put_u32(id);
            }
            None => out.put_u8(0),
        }
        out.put(self.root.as_bytes());
        match &self.ratchet {
            Some(r) => {
                out.put_u8(1);
                out.put(r.secret.as_bytes());
            }
            None => out.put_u8(0),
        }
        match &self.sending {
            Some(SendingChain {
                reserved,
                index,
                reserved_chain: Some(chain),
                ..
            }) if reserved > index => {
                // Stored as if the reserved keys were used (see
                // `reserve_sending_keys`).
                out.put_u8(1);
                out.put(chain.as_bytes());
                out.put_u32(*reserved);
            }
            Some(s) => {
                out.put_u8(1);
                out.put(s.chain.as_bytes());
                out.put_u32(s.index);
            }
            None => out.put_u8(0),
        }
        out.put_u32(self.previous_sending_len);
        match &self.receiving {
            Some(r) => {
                out.put_u8(1);
                out.put(&r.ratchet);
                out.put(r.chain.as_bytes());
                out.put_u32(r.index);
            }
            None => out.put_u8(0),
        }
        out.put_u8(self.previous_receiving.len() as u8);
        for (k, next) in &self.previous_receiving {
            out.put(k);
            out.put_u32(*next);
        }
        out.put_u16(self.skipped.len() as u16);
        for s in &self.skipped {
            out.put(&s.ratchet);
            out.put_u32(s.index);
            out.put(s.key.as_bytes());
        }
        out
    }

    /// Restores a session from [`Self::to_bytes`], checking every bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let s = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(s)
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version(STATE_VERSION)?;
        let flags = r.u8()?;
        if flags > 3 {
            return Err(DecodeError::InvalidField("session flags"));
        }
        let remote = IdentityKey::from_bytes(&r.array()?)?;
        let associated_data = r.array()?;
        let base_key = r.array()?;
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = if flag(r)? { Some(r.u32()?) } else { None };
        let prekey_ids = PrekeyIds {
            signed_prekey_id,
            one_time_prekey_id,
        };
        let root = RootKey::from_bytes(&Zeroizing::new(r.array()?));
        let ratchet = match flag(r)? {
            true => Some(RatchetKeyPair::from_secret(StaticSecret::from(
                *Zeroizing::new(r.array::<32>()?),
            ))),
            false => None,
        };
        let sending = match flag(r)? {
            true => {
                let chain = ChainKey::from_bytes(&Zeroizing::new(r.array()?));
                let index = r.u32()?;
                Some(SendingChain {
                    chain,
                    index,
                    reserved: index,
                    reserved_chain: None,
                })
            }
            false => None,
        };
        let previous_sending_len = r.u32()?;
        let receiving = match flag(r)? {
            true => {
                let ratchet = r.array()?;
                let their = TheirKey::new(ratchet, "ratchet")?;
                let chain = ChainKey::from_bytes(&Zeroizing::new(r.array()?));
                Some(ReceivingChain {
                    ratchet,
                    their,
                    chain,
                    index: r.u32()?,
                })
            }
            false => None,
        };
        let n = usize::from(r.u8()?);
        if n > MAX_PREVIOUS_RECEIVING_CHAINS {
            return Err(DecodeError::TooLong {
                field: "previous receiving chains",
                len: n,
                max: MAX_PREVIOUS_RECEIVING_CHAINS,
            });
        }
        let mut previous_receiving = VecDeque::with_capacity(n);
        for _ in 0..n {
            previous_receiving.push_back((r.array()?, r.u32()?));
        }
        let n = usize::from(r.u16()?);
        if n > MAX_SKIPPED_KEYS {
            return Err(DecodeError::TooLong {
                field: "skipped keys",
                len: n,
                max: MAX_SKIPPED_KEYS,
            });
        }
        let mut skipped = VecDeque::with_capacity(n);
        for _ in 0..n {
            let ratchet = r.array()?;
            let index = r.u32()?;
            let key = MessageKey::from_bytes(&Zeroizing::new(r.array()?));
            skipped.push_back(SkippedKey {
                ratchet,
                index,
                key,
            });
        }
        let initiator = flags & 1 == 1;
        if ratchet.is_none() && receiving.is_none() || sending.is_some() && ratchet.is_none() {
            return Err(DecodeError::InvalidField("session has no usable chain"));
        }
        Ok(Self {
            remote,
            associated_data,
            base_key,
            initiator,
            confirmed: flags & 2 == 2,
            prekey_ids,
            root,
            ratchet,
            sending,
            previous_sending_len,
            receiving,
            previous_receiving,
            skipped,
        })
    }
}

fn flag(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidField("option flag")),
    }
}

/// Advances `chain` from index `from` to `to`, collecting the message keys
/// passed over. Refuses gaps larger than [`MAX_SKIP`].
fn skip_to(
    chain: &mut ChainKey,
    from: u32,
    to: u32,
    ratchet: [u8; 32],
    out: &mut Vec<SkippedKey>,
) -> Result<(), SessionError> {
    let gap = to.saturating_sub(from);
    if gap > MAX_SKIP {
        return Err(SessionError::TooFarAhead { gap, max: MAX_SKIP });
    }
    out.reserve(gap as usize);
    for index in from..to {
        out.push(SkippedKey {
            ratchet,
            index,
            key: kdf_ck(chain),
        });
    }
    Ok(())
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("remote", &self.remote)
            .field("initiator", &self.initiator)
            .field("confirmed", &self.confirmed)
            .field("sending_index", &self.sending.as_ref().map(|s| s.index))
            .field("receiving_index", &self.receiving.as_ref().map(|r| r.index))
            .field("skipped_keys", &self.skipped.len())
            .finish_non_exhaustive()
    }
}
