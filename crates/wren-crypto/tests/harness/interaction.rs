//! Two parties, Alice (A) and Bob (B), each with a [`SessionBook`], driven
//! through a script of operations over an unreliable network: send, deliver
//! (oldest or any pending message), drop, duplicate, tamper (flip one bit and
//! deliver the copy), and reload a side's book through `to_bytes`/`from_bytes`.
//!
//! A model tracks every message and, per side and per session, the peer's
//! ratchet keys in the order they became the receiving chain, so every
//! outcome is predicted exactly:
//!
//! - the first delivery of an untampered message decrypts to its plaintext;
//! - a second delivery fails with [`SessionError::Replay`] while the
//!   message's chain is among the last `1 + MAX_PREVIOUS_RECEIVING_CHAINS`
//!   the receiving session remembers, and with
//!   [`SessionError::AuthenticationFailed`] after that (the documented limit);
//! - a tampered copy is rejected (including altered prekey ids of a prekey
//!   message for a session the receiver already has);
//! - a rejected message leaves the receiver's book byte-identical;
//! - prekey messages are sent exactly while the active session is ours and
//!   unanswered; new sessions, and which session is active afterwards,
//!   follow the book's three rules;
//! - after the script, every pending message decrypts, and after one message
//!   in each direction both sides' active sessions have the same base key.
//!
//! The skip limits are not modelled: a script has at most [`MAX_OPS`]
//! operations, fewer than [`MAX_SKIP`] and [`MAX_SKIPPED_KEYS`], so no chain
//! can jump that far and no skipped key can be evicted (checked at compile
//! time below).

use wren_crypto::limits::{MAX_PREVIOUS_RECEIVING_CHAINS, MAX_SKIP, MAX_SKIPPED_KEYS};
use wren_crypto::{
    IdentityKeyPair, OneTimePrekeyPair, OutboundMessage, PrekeyBundle, PrekeyMessage, SessionBook,
    SessionError, SignedPrekeyPair,
};

use super::common::TestRng;
use super::to_hex;

/// Most operations in one script (longer fuzz inputs are cut).
pub const MAX_OPS: usize = 256;
/// Plaintext lengths are `len % PLAINTEXT_LENGTHS`, so 0..200 bytes.
pub const PLAINTEXT_LENGTHS: usize = 200;

// Every message is at most one step of one chain: with fewer operations than
// the limits, no gap exceeds MAX_SKIP and no skipped key is ever evicted.
const _: () = assert!(MAX_OPS < MAX_SKIP as usize && MAX_OPS < MAX_SKIPPED_KEYS);

/// Chains a session remembers: the current one and the previous ones.
const REMEMBERED_CHAINS: usize = 1 + MAX_PREVIOUS_RECEIVING_CHAINS;

const CREATED_AT: u64 = 1_700_000_000;

// Field offsets in a prekey message: version (1) ‖ identity (32) ‖ base key
// (32) ‖ signed prekey id (4) ‖ flag (1) [‖ one-time prekey id (4)] ‖
// ratchet message (at 70, or 74 with a one-time prekey id).
const PREKEY_SPK_ID_AT: usize = 65;
const PREKEY_FLAG_AT: usize = 69;
const PREKEY_OTK_ID_AT: usize = 70;

/// One of the two parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Alice: always initiates.
    A,
    /// Bob: initiates too in the simultaneous scenario.
    B,
}

impl Who {
    fn peer(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// One step of a script. `pick` chooses among the candidate messages in
/// sending order, modulo their number (0 is the oldest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `from` encrypts a plaintext of `len % 200` bytes (skipped while it
    /// has no session yet).
    Send {
        /// The sender.
        from: Who,
        /// The plaintext length, modulo 200.
        len: u8,
    },
    /// Delivers a pending message to its recipient.
    Deliver {
        /// Which pending message.
        pick: u8,
    },
    /// Loses a pending message for good.
    Drop {
        /// Which pending message.
        pick: u8,
    },
    /// Delivers an already delivered message again.
    Duplicate {
        /// Which delivered message.
        pick: u8,
    },
    /// Flips bit `bit % (8 × len)` of a copy of a pending message and
    /// delivers the copy; the original stays pending.
    Tamper {
        /// Which pending message.
        pick: u8,
        /// Which bit.
        bit: u16,
    },
    /// Replaces a side's book by `from_bytes(to_bytes())`.
    Reload {
        /// Whose book.
        who: Who,
    },
}

/// How the parties start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Both initiate (with each other's bundle) before anything is
    /// delivered; otherwise only Alice does, and Bob answers.
    pub simultaneous: bool,
    /// Seeds the deterministic RNG: identities (so which one is the
    /// smaller), prekeys, ratchet keys.
    pub seed: u8,
}

/// What a run exercised, to check that a property is not vacuous.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages encrypted.
    pub sent: usize,
    /// Of which prekey messages.
    pub sent_prekey: usize,
    /// First deliveries that decrypted (including the final phase).
    pub decrypted: usize,
    /// Sessions created by a prekey message.
    pub new_sessions: usize,
    /// Duplicates refused as [`SessionError::Replay`].
    pub replays: usize,
    /// Duplicates of a forgotten chain, refused as authentication failures.
    pub forgotten_chain_duplicates: usize,
    /// Tampered copies rejected.
    pub tampered_rejected: usize,
    /// Tampered copies accepted (prekey ids of a known session).
    /// Messages dropped.
    pub dropped: usize,
    /// Books reloaded from bytes.
    pub reloads: usize,
    /// Normal messages that promoted an archived session.
    pub promotions: usize,
    /// Longest chain history of a session.
    pub max_chains: usize,
}

impl Stats {
    /// Adds another run's counts (and keeps the larger `max_chains`).
    pub fn add(&mut self, o: &Self) {
        self.sent += o.sent;
        self.sent_prekey += o.sent_prekey;
        self.decrypted += o.decrypted;
        self.new_sessions += o.new_sessions;
        self.replays += o.replays;
        self.forgotten_chain_duplicates += o.forgotten_chain_duplicates;
        self.tampered_rejected += o.tampered_rejected;
        self.dropped += o.dropped;
        self.reloads += o.reloads;
        self.promotions += o.promotions;
        self.max_chains = self.max_chains.max(o.max_chains);
    }
}

/// Decodes a fuzz input: byte 0 bit 0 = simultaneous, byte 1 = seed, then
/// operations, each a tag byte (`tag % 8`) and its arguments; missing bytes
/// read as zero, and at most [`MAX_OPS`] operations are read.
pub fn decode(data: &[u8]) -> (Scenario, Vec<Op>) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let flags = next().unwrap_or(0);
    let seed = next().unwrap_or(0);
    let scenario = Scenario {
        simultaneous: flags & 1 == 1,
        seed,
    };
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        let Some(tag) = next() else { break };
        let mut arg = || next().unwrap_or(0);
        ops.push(match tag % 8 {
            0 => Op::Send {
                from: Who::A,
                len: arg(),
            },
            1 => Op::Send {
                from: Who::B,
                len: arg(),
            },
            2 => Op::Deliver { pick: arg() },
            3 => Op::Drop { pick: arg() },
            4 => Op::Duplicate { pick: arg() },
            5 => Op::Tamper {
                pick: arg(),
                bit: u16::from_be_bytes([arg(), arg()]),
            },
            6 => Op::Reload { who: Who::A },
            _ => Op::Reload { who: Who::B },
        });
    }
    (scenario, ops)
}

/// The canonical encoding [`decode`] reads back.
pub fn encode(scenario: &Scenario, ops: &[Op]) -> Vec<u8> {
    let mut out = vec![u8::from(scenario.simultaneous), scenario.seed];
    for op in ops {
        match *op {
            Op::Send { from: Who::A, len } => out.extend([0, len]),
            Op::Send { from: Who::B, len } => out.extend([1, len]),
            Op::Deliver { pick } => out.extend([2, pick]),
            Op::Drop { pick } => out.extend([3, pick]),
            Op::Duplicate { pick } => out.extend([4, pick]),
            Op::Tamper { pick, bit } => {
                out.extend([5, pick]);
                out.extend(bit.to_be_bytes());
            }
            Op::Reload { who: Who::A } => out.push(6),
            Op::Reload { who: Who::B } => out.push(7),
        }
    }
    out
}

/// The fuzz entry point: decode and run.
pub fn fuzz(data: &[u8]) -> Stats {
    let (scenario, ops) = decode(data);
    run(&scenario, &ops)
}

/// Runs a script and checks every invariant (panics on a violation, naming
/// the operation; the caller knows the script: the fuzzer saves the input,
/// the proptest prints its encoding).
pub fn run(scenario: &Scenario, ops: &[Op]) -> Stats {
    let mut world = World::new(scenario);
    for (i, op) in ops.iter().take(MAX_OPS).enumerate() {
        world.context = format!("{scenario:?}, op {i} {op:?}");
        world.step(*op);
    }
    world.context = format!("{scenario:?}, final phase");
    world.finish();
    world.stats
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Delivered,
    Dropped,
}

struct Msg {
    from: Who,
    bytes: Vec<u8>,
    prekey: bool,
    plaintext: Vec<u8>,
    /// The session it was sent on.
    base_key: [u8; 32],
    /// The sender's ratchet key in its header: names its chain.
    ratchet: [u8; 32],
    status: Status,
}

/// What the model knows about one session a side holds.
struct ModelSession {
    base_key: [u8; 32],
    /// The peer's ratchet keys, in the order they became our receiving chain.
    chains: Vec<[u8; 32]>,
}

struct Side {
    identity: IdentityKeyPair,
    spk: SignedPrekeyPair,
    /// Deleted once a new session consumed it.
    otk: Option<OneTimePrekeyPair>,
    book: SessionBook,
    sessions: Vec<ModelSession>,
}

impl Side {
    fn new(rng: &mut TestRng, otk_id: u32) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPrekeyPair::generate(&identity, 1, CREATED_AT, rng);
        let otk = OneTimePrekeyPair::generate(otk_id, rng);
        // Placeholder book (remote = self): replaced once both sides exist.
        let book = SessionBook::new(*identity.public());
        Self {
            identity,
            spk,
            otk: Some(otk),
            book,
            sessions: Vec::new(),
        }
    }

    fn bundle(&self) -> wren_crypto::VerifiedBundle {
        PrekeyBundle::new(
            *self.identity.public(),
            *self.spk.public(),
            self.otk.as_ref().map(|k| *k.public()),
        )
        .verify()
        .unwrap()
    }

    fn session(&self, base_key: &[u8; 32]) -> Option<&ModelSession> {
        self.sessions.iter().find(|s| &s.base_key == base_key)
    }

    fn active_base(&self) -> Option<[u8; 32]> {
        self.book.active().map(|s| *s.base_key())
    }

    /// Hands bytes to the book the way the engine will: prekey messages
    /// (by envelope kind) to `receive_prekey` with the prekeys they name
    /// looked up, normal ones to `decrypt`. Returns the plaintext and
    /// whether a new session was created.
    fn receive(&mut self, bytes: &[u8], prekey: bool) -> Result<(Vec<u8>, bool), SessionError> {
        if !prekey {
            return self.book.decrypt(bytes).map(|p| (p, false));
        }
        let pm = PrekeyMessage::parse(bytes)?;
        let spk = (pm.signed_prekey_id() == self.spk.public().id()).then_some(&self.spk);
        let otk = self
            .otk
            .as_ref()
            .filter(|k| pm.one_time_prekey_id() == Some(k.public().id));
        let out = self.book.receive_prekey(&self.identity, spk, otk, &pm)?;
        if out.new_session && pm.one_time_prekey_id().is_some() {
            self.otk = None;
        }
        Ok((out.plaintext, out.new_session))
    }
}

/// The ratchet key in a message's header.
fn header_ratchet(bytes: &[u8], prekey: bool) -> [u8; 32] {
    let at = if prekey {
        PREKEY_OTK_ID_AT + if bytes[PREKEY_FLAG_AT] == 1 { 4 } else { 0 }
    } else {
        0
    };
    bytes[at + 1..at + 33].try_into().unwrap()
}

struct World {
    rng: TestRng,
    a: Side,
    b: Side,
    msgs: Vec<Msg>,
    stats: Stats,
    context: String,
}

impl World {
    fn new(scenario: &Scenario) -> Self {
        let mut rng = TestRng::new(&format!("wren interaction {}", scenario.seed));
        let mut a = Side::new(&mut rng, 11);
        let mut b = Side::new(&mut rng, 7);
        a.book = SessionBook::new(*b.identity.public());
        b.book = SessionBook::new(*a.identity.public());
        let (a_bundle, b_bundle) = (a.bundle(), b.bundle());
        a.book.initiate(&a.identity, &b_bundle, &mut rng).unwrap();
        let base_key = a.active_base().unwrap();
        a.sessions.push(ModelSession {
            base_key,
            chains: Vec::new(),
        });
        if scenario.simultaneous {
            b.book.initiate(&b.identity, &a_bundle, &mut rng).unwrap();
            let base_key = b.active_base().unwrap();
            b.sessions.push(ModelSession {
                base_key,
                chains: Vec::new(),
            });
        }
        Self {
            rng,
            a,
            b,
            msgs: Vec::new(),
            stats: Stats::default(),
            context: String::new(),
        }
    }

    fn side(&mut self, who: Who) -> &mut Side {
        match who {
            Who::A => &mut self.a,
            Who::B => &mut self.b,
        }
    }

    /// Indices of the messages with this status, in sending order.
    fn with_status(&self, status: Status) -> Vec<usize> {
        (0..self.msgs.len())
            .filter(|&i| self.msgs[i].status == status)
            .collect()
    }

    fn pick(&self, status: Status, pick: u8) -> Option<usize> {
        let candidates = self.with_status(status);
        (!candidates.is_empty()).then(|| candidates[usize::from(pick) % candidates.len()])
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Send { from, len } => {
                let _ = self.send(from, usize::from(len) % PLAINTEXT_LENGTHS);
            }
            Op::Deliver { pick } => {
                if let Some(i) = self.pick(Status::Pending, pick) {
                    self.deliver(i);
                }
            }
            Op::Drop { pick } => {
                if let Some(i) = self.pick(Status::Pending, pick) {
                    self.msgs[i].status = Status::Dropped;
                    self.stats.dropped += 1;
                }
            }
            Op::Duplicate { pick } => {
                if let Some(i) = self.pick(Status::Delivered, pick) {
                    self.deliver(i);
                }
            }
            Op::Tamper { pick, bit } => {
                if let Some(i) = self.pick(Status::Pending, pick) {
                    self.tamper(i, usize::from(bit));
                }
            }
            Op::Reload { who } => {
                let context = self.context.clone();
                let side = self.side(who);
                let bytes = side.book.to_bytes();
                side.book = SessionBook::from_bytes(&bytes)
                    .unwrap_or_else(|e| panic!("{context}: reload failed: {e}"));
                assert_eq!(
                    *side.book.to_bytes(),
                    *bytes,
                    "{context}: reload changed the bytes"
                );
                self.stats.reloads += 1;
            }
        }
    }

    /// Encrypts on `from`'s active session; returns the message index.
    fn send(&mut self, from: Who, len: usize) -> Option<usize> {
        let serial = self.msgs.len();
        let plaintext: Vec<u8> = (0..len)
            .map(|i| (serial.wrapping_mul(31).wrapping_add(i)) as u8)
            .collect();
        let context = self.context.clone();
        let (side, rng) = match from {
            Who::A => (&mut self.a, &mut self.rng),
            Who::B => (&mut self.b, &mut self.rng),
        };
        let active = side.book.active()?;
        let expect_prekey = active.is_initiator() && !active.is_confirmed();
        let base_key = *active.base_key();
        let out = side
            .book
            .encrypt(&plaintext, rng)
            .unwrap_or_else(|e| panic!("{context}: encrypt failed: {e}"));
        let prekey = matches!(out, OutboundMessage::Prekey(_));
        assert_eq!(
            prekey, expect_prekey,
            "{context}: prekey messages are sent exactly while our session is unanswered"
        );
        let bytes = out.into_bytes();
        let ratchet = header_ratchet(&bytes, prekey);
        if prekey {
            let pm = PrekeyMessage::parse(&bytes).unwrap();
            assert_eq!(pm.base_key(), &base_key, "{context}");
            assert_eq!(pm.identity(), side.identity.public(), "{context}");
            assert_eq!(
                ratchet, base_key,
                "{context}: an unanswered initiator still uses its base key"
            );
        }
        self.stats.sent += 1;
        self.stats.sent_prekey += usize::from(prekey);
        self.msgs.push(Msg {
            from,
            bytes,
            prekey,
            plaintext,
            base_key,
            ratchet,
            status: Status::Pending,
        });
        Some(serial)
    }

    /// Delivers message `i` untampered and checks the outcome against the model.
    fn deliver(&mut self, i: usize) {
        let bytes = self.msgs[i].bytes.clone();
        self.deliver_bytes(i, &bytes);
    }

    /// Delivers `bytes` as message `i` (the original or a copy the library
    /// accepts like it).
    fn deliver_bytes(&mut self, i: usize, bytes: &[u8]) {
        let context = self.context.clone();
        let m = &self.msgs[i];
        let (status, prekey, base_key, ratchet) = (m.status, m.prekey, m.base_key, m.ratchet);
        let plaintext = m.plaintext.clone();
        let to = m.from.peer();
        let side = self.side(to);
        let held = side.session(&base_key).is_some();
        let active_before = side
            .book
            .active()
            .map(|s| (*s.base_key(), s.is_initiator() && !s.is_confirmed()));
        let smaller = side.identity.public() < side.book.remote_identity();
        let before = side.book.to_bytes();
        let result = side.receive(bytes, prekey);

        match status {
            Status::Pending => {
                let (got, new_session) = result.unwrap_or_else(|e| {
                    panic!("{context}: first delivery of message {i} failed: {e}")
                });
                assert_eq!(got, plaintext, "{context}: wrong plaintext for message {i}");
                assert!(
                    prekey || held,
                    "{context}: model error: normal message for a session the receiver lacks"
                );
                assert_eq!(
                    new_session, !held,
                    "{context}: a prekey message creates a session exactly when none has its base key"
                );
                let active_after = side.active_base();
                let mut promoted = false;
                if new_session {
                    // Rule 2: the new session becomes active unless our active
                    // session is ours, unanswered, and our identity is the smaller.
                    let keep_ours =
                        smaller && active_before.is_some_and(|(_, unanswered)| unanswered);
                    let expected = if keep_ours {
                        active_before.map(|(b, _)| b)
                    } else {
                        Some(base_key)
                    };
                    assert_eq!(active_after, expected, "{context}: rule 2");
                    side.sessions.push(ModelSession {
                        base_key,
                        chains: Vec::new(),
                    });
                } else if prekey {
                    // Rule 1: the session it names decrypts it; nothing is promoted.
                    assert_eq!(
                        active_after,
                        active_before.map(|(b, _)| b),
                        "{context}: rule 1 changed the active session"
                    );
                } else {
                    // Rule 3: the session that decrypts a normal message becomes active.
                    assert_eq!(active_after, Some(base_key), "{context}: rule 3");
                    promoted = active_before.map(|(b, _)| b) != Some(base_key);
                }
                let session = side
                    .sessions
                    .iter_mut()
                    .find(|s| s.base_key == base_key)
                    .unwrap();
                if !session.chains.contains(&ratchet) {
                    session.chains.push(ratchet);
                }
                let chains = session.chains.len();
                self.stats.max_chains = self.stats.max_chains.max(chains);
                self.stats.decrypted += 1;
                self.stats.new_sessions += usize::from(new_session);
                self.stats.promotions += usize::from(promoted);
                self.msgs[i].status = Status::Delivered;
            }
            Status::Delivered => {
                let session = side.session(&base_key).unwrap_or_else(|| {
                    panic!("{context}: model error: delivered message without a session")
                });
                let position = session.chains.iter().position(|k| *k == ratchet).unwrap();
                let remembered = session.chains.len() - position <= REMEMBERED_CHAINS;
                let expected = if remembered {
                    SessionError::Replay
                } else {
                    SessionError::AuthenticationFailed
                };
                match result {
                    Err(e) if e == expected => {}
                    other => panic!(
                        "{context}: duplicate of message {i} (chain remembered: {remembered}) \
                         gave {other:?}, expected Err({expected:?})"
                    ),
                }
                assert_eq!(
                    *side.book.to_bytes(),
                    *before,
                    "{context}: a refused duplicate changed the state"
                );
                if remembered {
                    self.stats.replays += 1;
                } else {
                    self.stats.forgotten_chain_duplicates += 1;
                }
            }
            Status::Dropped => panic!("{context}: model error: delivering a dropped message"),
        }
    }

    /// Flips one bit of a copy of pending message `i` and delivers the copy.
    fn tamper(&mut self, i: usize, bit: usize) {
        let context = self.context.clone();
        let m = &self.msgs[i];
        let bit = bit % (m.bytes.len() * 8);
        let mut copy = m.bytes.clone();
        copy[bit / 8] ^= 1 << (bit % 8);
        let prekey = m.prekey;
        let side = self.side(self.msgs[i].from.peer());
        let before = side.book.to_bytes();
        let otk_before = side.otk.is_some();
        let result = side.receive(&copy, prekey);
        assert!(
            result.is_err(),
            "{context}: tampered copy of message {i} (bit {bit}) was accepted: {}",
            to_hex(&copy)
        );
        assert_eq!(
            *side.book.to_bytes(),
            *before,
            "{context}: a rejected tampered message changed the state"
        );
        assert_eq!(side.otk.is_some(), otk_before, "{context}");
        self.stats.tampered_rejected += 1;
    }

    /// Delivers everything still pending, then one message each way, and
    /// checks both sides settled on one session.
    fn finish(&mut self) {
        for i in self.with_status(Status::Pending) {
            self.deliver(i);
        }
        for from in [Who::A, Who::B, Who::A, Who::B] {
            let i = self
                .send(from, 5)
                .unwrap_or_else(|| panic!("{}: {from:?} has no session", self.context));
            self.deliver(i);
            if from == Who::B {
                assert_eq!(
                    self.a.active_base(),
                    self.b.active_base(),
                    "{}: after a message each way both sides use one session",
                    self.context
                );
            }
        }
    }
}
