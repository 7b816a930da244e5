//! Property: two parties' session books survive any interleaving of sends,
//! deliveries, drops, duplicates, reordering, tampering and reloads from
//! bytes. The model and its invariants are in `harness/interaction.rs`
//! (shared with the `interaction` fuzz target); this file generates scripts.
//!
//! Scripts have at most 150 operations, far below `MAX_SKIP` and
//! `MAX_SKIPPED_KEYS`, so those limits cannot be reached; the limit on
//! remembered receiving chains is modelled exactly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod harness;

use std::cell::RefCell;

use harness::interaction::{Op, Scenario, Stats, Who, encode, run};
use harness::to_hex;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per property.
const CASES: u32 = 256;
/// Longest script.
const MAX_SCRIPT: usize = 150;

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![Just(Who::A), Just(Who::B)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (who(), 0u8..200).prop_map(|(from, len)| Op::Send { from, len }),
        4 => Just(Op::Deliver { pick: 0 }),
        2 => any::<u8>().prop_map(|pick| Op::Deliver { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Drop { pick }),
        // Duplicates of the oldest delivered message reach forgotten chains.
        1 => prop_oneof![Just(0u8), any::<u8>()].prop_map(|pick| Op::Duplicate { pick }),
        // Most flips land in the first 80 bytes (prekey fields, the ratchet
        // header), where a flip takes another path than in the ciphertext
        // (which only ever fails authentication); some aim at the prekey ids.
        1 => (any::<u8>(), prop_oneof![2 => 0u16..640, 1 => 520u16..592, 2 => any::<u16>()])
            .prop_map(|(pick, bit)| Op::Tamper { pick, bit }),
        1 => who().prop_map(|who| Op::Reload { who }),
    ]
}

/// Runs `CASES` random scripts; on failure prints the shrunk script and its
/// encoding (a valid input for the `interaction` fuzz target). Returns the
/// summed statistics.
fn check(simultaneous: bool) -> Stats {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 1_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let totals = RefCell::new(Stats::default());
    let result = runner.run(&(any::<u8>(), vec(op(), 0..=MAX_SCRIPT)), |(seed, ops)| {
        let stats = run(&Scenario { simultaneous, seed }, &ops);
        totals.borrow_mut().add(&stats);
        Ok(())
    });
    if let Err(e) = result {
        if let proptest::test_runner::TestError::Fail(_, (seed, ops)) = &e {
            let script = encode(
                &Scenario {
                    simultaneous,
                    seed: *seed,
                },
                ops,
            );
            panic!("{e}\nscript (fuzz input, hex): {}", to_hex(&script));
        }
        panic!("{e}");
    }
    let totals = totals.into_inner();
    eprintln!("simultaneous = {simultaneous}: {totals:#?}");
    totals
}

/// The statistics show the scripts exercised what the property is about.
fn assert_not_vacuous(s: &Stats) {
    assert!(s.decrypted > 1_000, "{s:?}");
    assert!(s.replays > 50, "{s:?}");
    assert!(s.forgotten_chain_duplicates > 0, "{s:?}");
    assert!(s.tampered_rejected > 50, "{s:?}");
    assert!(s.dropped > 50 && s.reloads > 50, "{s:?}");
    assert!(s.max_chains > 6, "{s:?}");
}

#[test]
fn one_initiator_any_interleaving() {
    let stats = check(false);
    assert_not_vacuous(&stats);
}

#[test]
fn simultaneous_initiation_any_interleaving_converges() {
    let stats = check(true);
    assert_not_vacuous(&stats);
    // At least the receiver of the first delivered message created a session.
    assert!(stats.new_sessions >= CASES as usize, "{stats:?}");
}

/// A fixed script covering every operation, so a failure here is easy to
/// reproduce without proptest.
#[test]
fn fixed_script() {
    use Op::*;
    use Who::{A, B};
    let ops = [
        Send { from: A, len: 10 },
        Send { from: A, len: 0 },
        Tamper { pick: 1, bit: 530 },
        Deliver { pick: 1 },
        Send { from: B, len: 199 },
        Deliver { pick: 0 },
        Duplicate { pick: 0 },
        Reload { who: B },
        Drop { pick: 0 },
        Send { from: A, len: 3 },
        Send { from: A, len: 4 },
        Deliver { pick: 1 },
        Reload { who: A },
        Deliver { pick: 0 },
        Duplicate { pick: 3 },
    ];
    for simultaneous in [false, true] {
        for seed in 0..4 {
            run(&Scenario { simultaneous, seed }, &ops);
        }
    }
}

/// A prekey message that arrives after both sides already talk on the other
/// session makes its receiver switch (rule 2); the next normal message
/// promotes the other session back (rule 3).
#[test]
fn delayed_prekey_message_then_promotion() {
    use Op::*;
    use Who::{A, B};
    let ops = [
        Send { from: A, len: 1 }, // m0: S_A prekey, held back
        Send { from: B, len: 2 }, // m1: S_B prekey
        Deliver { pick: 1 },      // m1 to A
        Send { from: A, len: 3 }, // m2: on A's active session
        Deliver { pick: 1 },      // m2 to B
        Deliver { pick: 0 },      // m0 to B, late
        Send { from: A, len: 4 }, // m3
        Deliver { pick: 0 },      // m3 to B
    ];
    let mut promotions = 0;
    for seed in 0..8 {
        let stats = run(
            &Scenario {
                simultaneous: true,
                seed,
            },
            &ops,
        );
        promotions += stats.promotions;
    }
    assert!(promotions > 0);
}
