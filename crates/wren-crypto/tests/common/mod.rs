//! Shared helpers for the integration tests: deterministic randomness and parties.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};
use wren_crypto::{IdentityKeyPair, PrekeyBundle, SignedPrekeyPair, VerifiedBundle};

/// A deterministic "random" generator: SHA-256(seed ‖ counter) blocks.
/// Only for tests and test vectors; never for real keys.
pub(crate) struct TestRng {
    seed: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    pub(crate) fn new(label: &str) -> Self {
        Self {
            seed: Sha256::digest(label.as_bytes()).into(),
            counter: 0,
            buf: Vec::new(),
        }
    }
}

impl TryRng for TestRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst.iter_mut() {
            if self.buf.is_empty() {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.counter += 1;
                self.buf = h.finalize().to_vec();
                self.buf.reverse();
            }
            *byte = self.buf.pop().unwrap();
        }
        Ok(())
    }
}

impl TryCryptoRng for TestRng {}

/// A party with an identity and a signed prekey.
pub(crate) struct Party {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) spk: SignedPrekeyPair,
}

impl Party {
    pub(crate) fn new(rng: &mut TestRng) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPrekeyPair::generate(&identity, 1, 1_700_000_000, rng);
        Self { identity, spk }
    }

    pub(crate) fn bundle(&self) -> VerifiedBundle {
        PrekeyBundle::new(*self.identity.public(), *self.spk.public(), None)
            .verify()
            .unwrap()
    }
}
