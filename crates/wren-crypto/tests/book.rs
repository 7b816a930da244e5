//! The session book: simultaneous initiation, re-initiation, delayed
//! prekey messages and the archive bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Party, TestRng};
use wren_crypto::limits::MAX_ARCHIVED_SESSIONS;
use wren_crypto::{OutboundMessage, PrekeyMessage, SessionBook, SessionError};

struct Side {
    party: Party,
    book: SessionBook,
}

impl Side {
    fn receive(&mut self, m: &OutboundMessage) -> Result<Vec<u8>, SessionError> {
        match m {
            OutboundMessage::Prekey(b) => {
                let pm = PrekeyMessage::parse(b).unwrap();
                self.book
                    .receive_prekey(&self.party.identity, Some(&self.party.spk), None, &pm)
                    .map(|o| o.plaintext)
            }
            OutboundMessage::Normal(b) => self.book.decrypt(b),
        }
    }
}

fn sides(label: &str) -> (TestRng, Side, Side) {
    let mut rng = TestRng::new(label);
    let p1 = Party::new(&mut rng);
    let p2 = Party::new(&mut rng);
    // `small` has the smaller identity key: its session wins ties.
    let (small, large) = if p1.identity.public() < p2.identity.public() {
        (p1, p2)
    } else {
        (p2, p1)
    };
    let (small_id, large_id) = (*small.identity.public(), *large.identity.public());
    let s = Side {
        book: SessionBook::new(large_id),
        party: small,
    };
    let l = Side {
        book: SessionBook::new(small_id),
        party: large,
    };
    (rng, s, l)
}

fn active_base(side: &Side) -> [u8; 32] {
    *side.book.active().unwrap().base_key()
}

fn exchange(rng: &mut TestRng, a: &mut Side, b: &mut Side, rounds: usize) {
    for i in 0..rounds {
        let m = a.book.encrypt(format!("a{i}").as_bytes(), rng).unwrap();
        assert_eq!(b.receive(&m).unwrap(), format!("a{i}").as_bytes());
        let m = b.book.encrypt(format!("b{i}").as_bytes(), rng).unwrap();
        assert_eq!(a.receive(&m).unwrap(), format!("b{i}").as_bytes());
    }
}

#[test]
fn simultaneous_initiation_converges_on_the_smaller_identitys_session() {
    for order in 0..2 {
        let (mut rng, mut s, mut l) = sides(&format!("simultaneous {order}"));
        let (sb, lb) = (s.party.bundle(), l.party.bundle());
        s.book.initiate(&s.party.identity, &lb, &mut rng).unwrap();
        l.book.initiate(&l.party.identity, &sb, &mut rng).unwrap();
        let from_s = s.book.encrypt(b"hi from small", &mut rng).unwrap();
        let from_l = l.book.encrypt(b"hi from large", &mut rng).unwrap();
        // Both prekey messages cross in flight; deliver in either order.
        if order == 0 {
            assert_eq!(s.receive(&from_l).unwrap(), b"hi from large");
            assert_eq!(l.receive(&from_s).unwrap(), b"hi from small");
        } else {
            assert_eq!(l.receive(&from_s).unwrap(), b"hi from small");
            assert_eq!(s.receive(&from_l).unwrap(), b"hi from large");
        }
        assert_eq!(
            active_base(&s),
            active_base(&l),
            "both sides use one session"
        );
        exchange(&mut rng, &mut s, &mut l, 3);
        exchange(&mut rng, &mut l, &mut s, 3);
        assert_eq!(active_base(&s), active_base(&l));
    }
}

#[test]
fn simultaneous_initiation_with_extra_messages_in_flight() {
    let (mut rng, mut s, mut l) = sides("simultaneous burst");
    let (sb, lb) = (s.party.bundle(), l.party.bundle());
    s.book.initiate(&s.party.identity, &lb, &mut rng).unwrap();
    l.book.initiate(&l.party.identity, &sb, &mut rng).unwrap();
    let s_msgs: Vec<_> = (0..3)
        .map(|i| s.book.encrypt(&[b's', i], &mut rng).unwrap())
        .collect();
    let l_msgs: Vec<_> = (0..3)
        .map(|i| l.book.encrypt(&[b'l', i], &mut rng).unwrap())
        .collect();
    // Deliver interleaved and partly reordered: every message still decrypts once.
    for i in [2usize, 0, 1] {
        assert_eq!(s.receive(&l_msgs[i]).unwrap(), vec![b'l', i as u8]);
        assert_eq!(l.receive(&s_msgs[i]).unwrap(), vec![b's', i as u8]);
    }
    for m in &l_msgs {
        assert_eq!(s.receive(m), Err(SessionError::Replay));
    }
    assert_eq!(active_base(&s), active_base(&l));
    exchange(&mut rng, &mut l, &mut s, 2);
    assert_eq!(active_base(&s), active_base(&l));
}

#[test]
fn a_delayed_prekey_message_does_not_split_the_sides() {
    // The small side's session is answered before the large side's own
    // prekey message (sent earlier) arrives.
    let (mut rng, mut s, mut l) = sides("delayed");
    let (sb, lb) = (s.party.bundle(), l.party.bundle());
    s.book.initiate(&s.party.identity, &lb, &mut rng).unwrap();
    l.book.initiate(&l.party.identity, &sb, &mut rng).unwrap();
    let delayed = l.book.encrypt(b"late", &mut rng).unwrap();
    let from_s = s.book.encrypt(b"first", &mut rng).unwrap();
    assert_eq!(l.receive(&from_s).unwrap(), b"first");
    let reply = l.book.encrypt(b"reply", &mut rng).unwrap();
    assert_eq!(s.receive(&reply).unwrap(), b"reply");
    assert_eq!(s.receive(&delayed).unwrap(), b"late");
    // Whatever each side picked, traffic keeps flowing and they agree again
    // after one exchange in each direction.
    exchange(&mut rng, &mut s, &mut l, 2);
    exchange(&mut rng, &mut l, &mut s, 2);
    assert_eq!(active_base(&s), active_base(&l));
}

#[test]
fn peer_that_lost_its_state_can_reinitiate() {
    let (mut rng, mut s, mut l) = sides("reinit");
    let lb = l.party.bundle();
    s.book.initiate(&s.party.identity, &lb, &mut rng).unwrap();
    let m = s.book.encrypt(b"hello", &mut rng).unwrap();
    l.receive(&m).unwrap();
    exchange(&mut rng, &mut s, &mut l, 2);
    // The large side loses everything and starts over.
    l.book = SessionBook::new(*s.party.identity.public());
    l.book
        .initiate(&l.party.identity, &s.party.bundle(), &mut rng)
        .unwrap();
    let m = l.book.encrypt(b"I'm back", &mut rng).unwrap();
    assert_eq!(s.receive(&m).unwrap(), b"I'm back");
    assert_eq!(active_base(&s), active_base(&l));
    exchange(&mut rng, &mut s, &mut l, 2);
}

#[test]
fn archive_is_bounded() {
    let (mut rng, mut s, l) = sides("archive");
    let lb = l.party.bundle();
    for _ in 0..MAX_ARCHIVED_SESSIONS + 3 {
        s.book.initiate(&s.party.identity, &lb, &mut rng).unwrap();
    }
    assert_eq!(s.book.archived_len(), MAX_ARCHIVED_SESSIONS);
}

#[test]
fn prekey_message_from_another_identity_is_refused() {
    let (mut rng, mut s, _l) = sides("wrong identity");
    let mallory = Party::new(&mut rng);
    // A book only starts sessions with its own contact.
    let mut book = SessionBook::new(*s.party.identity.public());
    assert_eq!(
        book.initiate(&mallory.identity, &mallory.bundle(), &mut rng),
        Err(SessionError::WrongIdentity)
    );
    // Mallory sends to s; s's book for l must refuse it.
    let mut ms =
        wren_crypto::Session::initiate(&mallory.identity, &s.party.bundle(), &mut rng).unwrap();
    let msg = ms.encrypt(b"trust me", &mut rng).unwrap();
    assert_eq!(s.receive(&msg), Err(SessionError::WrongIdentity));
}

#[test]
fn book_round_trips_through_bytes() {
    let (mut rng, mut s, mut l) = sides("book bytes");
    s.book
        .initiate(&s.party.identity, &l.party.bundle(), &mut rng)
        .unwrap();
    let m = s.book.encrypt(b"x", &mut rng).unwrap();
    l.receive(&m).unwrap();
    s.book = SessionBook::from_bytes(&s.book.to_bytes()).unwrap();
    l.book = SessionBook::from_bytes(&l.book.to_bytes()).unwrap();
    exchange(&mut rng, &mut l, &mut s, 2);
}

#[test]
fn prekey_outcome_debug_shows_no_plaintext() {
    let (mut rng, s, mut l) = sides("outcome debug");
    let mut a =
        wren_crypto::Session::initiate(&s.party.identity, &l.party.bundle(), &mut rng).unwrap();
    let m = a.encrypt(b"secret words", &mut rng).unwrap();
    let pm = PrekeyMessage::parse(m.bytes()).unwrap();
    let outcome = l
        .book
        .receive_prekey(&l.party.identity, Some(&l.party.spk), None, &pm)
        .unwrap();
    let shown = format!("{outcome:?}");
    assert!(shown.contains("plaintext_len: 12"), "{shown}");
    assert!(
        !shown.contains("115, 101, 99") && !shown.contains("secret"),
        "{shown}"
    );
}

/// Reserving sending keys: a state stored after a reservation resumes past
/// every key that may have been used, so a sender that "crashes" (restores
/// its stored state) never reuses a message key, and the peer decrypts both
/// the messages sent before the crash and the ones after (skipping the gap).
#[test]
fn reserved_sending_keys_survive_a_crash_without_key_reuse() {
    use wren_crypto::limits::MAX_RESERVED_SENDING_KEYS;

    let (mut rng, mut a, mut b) = sides("reserve");
    let bundle = b.party.bundle();
    a.book
        .initiate(&a.party.identity, &bundle, &mut rng)
        .unwrap();
    exchange(&mut rng, &mut a, &mut b, 2);
    // After receiving, A's next send would take a DH step: take it now.
    assert!(a.book.prepare_sending_chain(&mut rng).unwrap());
    assert!(!a.book.prepare_sending_chain(&mut rng).unwrap());
    assert_eq!(a.book.reserved_sending_keys(), 0);
    assert!(a.book.reserve_sending_keys(8));
    assert_eq!(a.book.reserved_sending_keys(), 8);
    // A smaller reservation does not shrink it; a larger one is capped.
    assert!(a.book.reserve_sending_keys(2));
    assert_eq!(a.book.reserved_sending_keys(), 8);
    let stored = a.book.to_bytes();

    // Three messages leave before anything newer is stored.
    let before: Vec<_> = (0..3)
        .map(|i| {
            a.book
                .encrypt(format!("before {i}").as_bytes(), &mut rng)
                .unwrap()
        })
        .collect();
    assert_eq!(a.book.reserved_sending_keys(), 5);
    // Crash: A restarts from the stored state.
    let mut restored = SessionBook::from_bytes(&stored).unwrap();
    assert_eq!(restored.reserved_sending_keys(), 0);
    let after = restored.encrypt(b"after", &mut rng).unwrap();
    // No key reuse: the message after the crash uses a counter past all of
    // the reserved ones, so B accepts it and still has the keys for the
    // ones sent before (which may arrive later).
    assert_eq!(b.receive(&after).unwrap(), b"after");
    for (i, m) in before.iter().enumerate().rev() {
        assert_eq!(b.receive(m).unwrap(), format!("before {i}").as_bytes());
    }
    // Replays of either are refused.
    assert!(b.receive(&after).is_err());
    assert!(b.receive(&before[0]).is_err());
    a.book = restored;
    exchange(&mut rng, &mut a, &mut b, 2);

    // The cap.
    assert!(a.book.prepare_sending_chain(&mut rng).unwrap());
    assert!(a.book.reserve_sending_keys(u32::MAX));
    assert_eq!(a.book.reserved_sending_keys(), MAX_RESERVED_SENDING_KEYS);
    // Without a session there is nothing to reserve.
    let mut empty = SessionBook::new(*b.party.identity.public());
    assert!(!empty.reserve_sending_keys(1));
    assert_eq!(empty.reserved_sending_keys(), 0);
}

/// Without a reservation the stored state is exactly the live one.
#[test]
fn without_a_reservation_the_stored_state_is_the_live_one() {
    let (mut rng, mut a, mut b) = sides("no reserve");
    let bundle = b.party.bundle();
    a.book
        .initiate(&a.party.identity, &bundle, &mut rng)
        .unwrap();
    exchange(&mut rng, &mut a, &mut b, 1);
    let m = a.book.encrypt(b"x", &mut rng).unwrap();
    b.receive(&m).unwrap();
    let stored = a.book.to_bytes();
    let restored = SessionBook::from_bytes(&stored).unwrap();
    assert_eq!(*restored.to_bytes(), *stored);
}
