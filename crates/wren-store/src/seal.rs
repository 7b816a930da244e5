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

use chacha20poly1305::aead::{AeadInOut, KeyInit, Tag};
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

/// Associated data up to this length is built on the stack (every table
/// name and key of the schema fits, except long setting names).
const AD_INLINE: usize = 96;

/// The associated data of one seal, on the stack when it fits.
enum AssociatedData {
    Inline([u8; AD_INLINE], usize),
    Heap(Vec<u8>),
}

impl AssociatedData {
    fn as_slice(&self) -> &[u8] {
        match self {
            AssociatedData::Inline(bytes, len) => bytes.get(..*len).unwrap_or_default(),
            AssociatedData::Heap(bytes) => bytes,
        }
    }
}

fn associated_data(table: &str, key: &[u8]) -> AssociatedData {
    // Table names are short constants (< 256 bytes).
    let table_len = [u8::try_from(table.len()).unwrap_or(u8::MAX)];
    let parts: [&[u8]; 4] = [AD_LABEL, &table_len, table.as_bytes(), key];
    let len = parts.iter().map(|part| part.len()).sum::<usize>();
    if len <= AD_INLINE {
        let mut bytes = [0u8; AD_INLINE];
        let mut at = 0;
        for part in parts {
            if let Some(slot) = bytes.get_mut(at..at + part.len()) {
                slot.copy_from_slice(part);
            }
            at += part.len();
        }
        AssociatedData::Inline(bytes, len)
    } else {
        AssociatedData::Heap(parts.concat())
    }
}

/// Seals `plaintext` for `table` at `key` (the key's canonical bytes, see
/// [`crate::tx`]).
pub(crate) fn seal(storage: &StorageKey, table: &str, key: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal_raw(
        storage.bytes(),
        associated_data(table, key).as_slice(),
        plaintext,
    )
}

/// Opens a value sealed by [`seal`] for the same table and key.
pub(crate) fn open(
    storage: &StorageKey,
    table: &str,
    key: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Corruption> {
    open_raw(
        storage.bytes(),
        associated_data(table, key).as_slice(),
        sealed,
    )
}

/// Seals with an explicit key and associated data (also used to wrap the
/// storage key under the key-encryption key).
pub(crate) fn seal_raw(key: &[u8; 32], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let xnonce = XNonce::from(nonce);
    // Encrypted in place in the output: version ‖ nonce ‖ plaintext, then
    // the tag appended.
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = out
        .get_mut(1 + NONCE_LEN..)
        .and_then(|msg| cipher.encrypt_inout_detached(&xnonce, ad, msg.into()).ok());
    match tag {
        Some(tag) => out.extend_from_slice(tag.as_slice()),
        // Plaintexts here are bounded far below XChaCha20's limits:
        // encryption cannot fail; if it did, the plaintext is wiped and the
        // empty ciphertext would fail to open, never panic.
        None => {
            zeroize::Zeroize::zeroize(&mut out);
            out.push(SEAL_VERSION);
            out.extend_from_slice(&nonce);
        }
    }
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
    let (ciphertext, tag) = ciphertext
        .split_at_checked(ciphertext.len().saturating_sub(TAG_LEN))
        .ok_or(Corruption::Malformed)?;
    let tag = Tag::<XChaCha20Poly1305>::try_from(tag).map_err(|_| Corruption::Malformed)?;
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_inout_detached(
            &XNonce::from(nonce),
            ad,
            plaintext.as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| Corruption::Unauthentic)?;
    Ok(plaintext)
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
