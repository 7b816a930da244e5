//! Sealing values at rest: XChaCha20-Poly1305 under the storage key.
//!
//! Layout of a sealed value: `version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`.
//! The nonce is random per seal: XChaCha20's 192-bit nonce makes random
//! nonces safe for any number of records (ChaCha20-Poly1305's 96-bit nonce
//! would not be, and a counter would need its own crash-safe state).
//!
//! The associated data binds the value to where it is stored:
//! `"wren-store seal v1" ‖ len(table) ‖ table ‖ key bytes`. A value copied to
//! another key or another table does not open, so an attacker who can write
//! the file cannot swap two messages, two contacts or a message into a
//! session slot.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use zeroize::Zeroizing;

use crate::error::Corruption;
use crate::key::StorageKey;

/// Version byte of a sealed value.
const SEAL_VERSION: u8 = 1;
/// XChaCha20 nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Bytes a seal adds to a plaintext.
pub(crate) const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Domain separation for record seals.
const AD_LABEL: &[u8] = b"wren-store seal v1";

fn associated_data(table: &str, key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_LABEL.len() + 1 + table.len() + key.len());
    ad.extend_from_slice(AD_LABEL);
    // Table names are short constants (< 256 bytes).
    ad.push(u8::try_from(table.len()).unwrap_or(u8::MAX));
    ad.extend_from_slice(table.as_bytes());
    ad.extend_from_slice(key);
    ad
}

/// Seals `plaintext` for `table` at `key` (the key's canonical bytes, see
/// [`crate::tx`]).
pub(crate) fn seal(storage: &StorageKey, table: &str, key: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal_raw(storage.bytes(), &associated_data(table, key), plaintext)
}

/// Opens a value sealed by [`seal`] for the same table and key.
pub(crate) fn open(
    storage: &StorageKey,
    table: &str,
    key: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Corruption> {
    open_raw(storage.bytes(), &associated_data(table, key), sealed)
}

/// Seals with an explicit key and associated data (also used to wrap the
/// storage key under the key-encryption key).
pub(crate) fn seal_raw(key: &[u8; 32], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let xnonce = XNonce::from(nonce);
    // Plaintexts here are bounded far below XChaCha20's limits: encryption
    // cannot fail; an empty ciphertext would fail to open, never panic.
    let ciphertext = cipher
        .encrypt(
            &xnonce,
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens a value sealed by [`seal_raw`].
pub(crate) fn open_raw(
    key: &[u8; 32],
    ad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Corruption> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(Corruption::Malformed);
    }
    let (version, rest) = sealed.split_first().ok_or(Corruption::Malformed)?;
    if *version != SEAL_VERSION {
        return Err(Corruption::Malformed);
    }
    let (nonce, ciphertext) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(Corruption::Malformed)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Corruption::Malformed)?;
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: ad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Corruption::Unauthentic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_binds_table_and_key() {
        let storage = StorageKey::from_bytes([7; 32]);
        let sealed = seal(&storage, "messages", &[1, 2], b"hello");
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(
            &**open(&storage, "messages", &[1, 2], &sealed).unwrap(),
            b"hello"
        );
        assert_eq!(
            open(&storage, "messages", &[1, 3], &sealed),
            Err(Corruption::Unauthentic)
        );
        assert_eq!(
            open(&storage, "contacts", &[1, 2], &sealed),
            Err(Corruption::Unauthentic)
        );
        let other = StorageKey::from_bytes([8; 32]);
        assert_eq!(
            open(&other, "messages", &[1, 2], &sealed),
            Err(Corruption::Unauthentic)
        );
        assert_eq!(
            open(&storage, "messages", &[1, 2], &sealed[..10]),
            Err(Corruption::Malformed)
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let storage = StorageKey::from_bytes([7; 32]);
        assert_ne!(
            seal(&storage, "t", b"k", b"same"),
            seal(&storage, "t", b"k", b"same")
        );
    }
}
