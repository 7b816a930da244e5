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

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Nonce};

    #[test]
    fn chacha20_poly1305_rfc8439_section_2_8_2() {
        let key: [u8; 32] = core::array::from_fn(|i| 0x80 + i as u8);
        let nonce = Nonce::from([
            0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ]);
        let aad = [
            0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
        ];
        let mut buf = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        let tag = ChaCha20Poly1305::new(&key.into())
            .encrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into())
            .unwrap();
        assert_eq!(
            hex(&buf),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b\
             1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
             3ff4def08e4b7a9de576d26586cec64b6116"
        );
        assert_eq!(hex(&tag), "1ae10b594f09e26a7e902ecbd0600691");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
