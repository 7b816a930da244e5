//! X3DH key agreement: derives the first root and chain keys of a session
//! and the associated data that binds both identities to every message.

use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::dh::{TheirKey, dh};
use crate::error::SessionError;
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::kdf::kdf_x3dh;
use crate::keys::{ChainKey, RootKey};
use crate::prekey::{OneTimePrekeyPair, SignedPrekeyPair, VerifiedBundle};

/// The 32 0xFF bytes prefixed to the DH outputs (X3DH §2.2, "F").
const F: [u8; 32] = [0xff; 32];

/// What X3DH produces for either side.
pub(crate) struct X3dhOutput {
    pub(crate) root: RootKey,
    pub(crate) chain: ChainKey,
    /// `initiator identity ‖ responder identity` (Ed25519 encodings).
    pub(crate) associated_data: [u8; 64],
}

type Shared = Zeroizing<[u8; 32]>;

fn contributory(s: Option<Shared>) -> Result<Shared, SessionError> {
    s.ok_or(SessionError::NonContributory)
}

fn associated_data(initiator: &IdentityKey, responder: &IdentityKey) -> [u8; 64] {
    let mut ad = [0u8; 64];
    let (a, b) = ad.split_at_mut(32);
    a.copy_from_slice(initiator.as_bytes());
    b.copy_from_slice(responder.as_bytes());
    ad
}

fn derive(dhs: &[Shared], ad: [u8; 64]) -> X3dhOutput {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * (dhs.len() + 1)));
    ikm.extend_from_slice(&F);
    for dh in dhs {
        ikm.extend_from_slice(dh.as_slice());
    }
    let (root, chain) = kdf_x3dh(&ikm);
    X3dhOutput {
        root,
        chain,
        associated_data: ad,
    }
}

/// The initiator's side: our identity, their verified bundle, our ephemeral key.
pub(crate) fn initiate(
    ours: &IdentityKeyPair,
    theirs: &VerifiedBundle,
    ephemeral: &StaticSecret,
) -> Result<X3dhOutput, SessionError> {
    if ours.public() == theirs.identity() {
        return Err(SessionError::SelfSession);
    }
    let spk = theirs.signed_prekey().key();
    let dh1 = contributory(ours.dh(spk))?;
    let dh2 = contributory(dh(ephemeral, &theirs.identity().dh()))?;
    let dh3 = contributory(dh(ephemeral, spk))?;
    let ad = associated_data(ours.public(), theirs.identity());
    Ok(match theirs.one_time_prekey() {
        Some(otk) => {
            let dh4 = contributory(dh(ephemeral, otk.key()))?;
            derive(&[dh1, dh2, dh3, dh4], ad)
        }
        None => derive(&[dh1, dh2, dh3], ad),
    })
}

/// The responder's side, from the fields of a prekey message.
pub(crate) fn respond(
    ours: &IdentityKeyPair,
    signed_prekey: &SignedPrekeyPair,
    one_time_prekey: Option<&OneTimePrekeyPair>,
    their_identity: &IdentityKey,
    their_ephemeral: &TheirKey,
) -> Result<X3dhOutput, SessionError> {
    if ours.public() == their_identity {
        return Err(SessionError::SelfSession);
    }
    let dh1 = contributory(dh(signed_prekey.secret(), &their_identity.dh()))?;
    let dh2 = contributory(ours.dh(their_ephemeral))?;
    let dh3 = contributory(dh(signed_prekey.secret(), their_ephemeral))?;
    let ad = associated_data(their_identity, ours.public());
    Ok(match one_time_prekey {
        Some(otk) => {
            let dh4 = contributory(dh(otk.secret(), their_ephemeral))?;
            derive(&[dh1, dh2, dh3, dh4], ad)
        }
        None => derive(&[dh1, dh2, dh3], ad),
    })
}
