//! ChaCha20-Poly1305 sealing and opening with keys expanded from a message key.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};

use crate::kdf::{CipherKeys, cipher_keys};
use crate::keys::MessageKey;

/// Length of the Poly1305 tag appended to every ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `buffer[from..]` in place and appends the tag.
pub(crate) fn seal_in_place(
    mk: &MessageKey,
    info: &[u8],
    ad: &[u8],
    buffer: &mut Vec<u8>,
    from: usize,
) {
    let CipherKeys { key, nonce } = cipher_keys(mk, info);
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let nonce = Nonce::from(nonce);
    let tag = match buffer.get_mut(from..) {
        // Plaintexts are bounded far below ChaCha20's 256 GiB limit: cannot fail.
        Some(region) => cipher
            .encrypt_inout_detached(&nonce, ad, region.into())
            .unwrap_or_default(),
        None => Tag::default(),
    };
    buffer.extend_from_slice(&tag);
}

/// Decrypts `ciphertext ‖ tag` into a new vector, or `None` if it does not authenticate.
pub(crate) fn open(mk: &MessageKey, info: &[u8], ad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let split = sealed.len().checked_sub(TAG_LEN)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let tag: [u8; TAG_LEN] = tag.try_into().ok()?;
    let CipherKeys { key, nonce } = cipher_keys(mk, info);
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let mut out = ciphertext.to_vec();
    cipher
        .decrypt_inout_detached(
            &Nonce::from(nonce),
            ad,
            out.as_mut_slice().into(),
            &Tag::from(tag),
        )
        .ok()?;
    Some(out)
}
