//! The key derivation functions and their labels (docs/protocol.md, "KDFs").

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{ChainKey, MessageKey, RootKey};

/// HKDF info for the X3DH shared secret.
pub(crate) const X3DH_INFO: &[u8] = b"Wren X3DH v1";
/// HKDF info for the root-key KDF of the double ratchet.
pub(crate) const ROOT_INFO: &[u8] = b"Wren Ratchet Root v1";
/// HKDF info expanding a 1:1 message key into cipher key and nonce.
pub(crate) const MESSAGE_INFO: &[u8] = b"Wren Ratchet Message v1";
/// HKDF info expanding a sender-key message key into cipher key and nonce.
pub(crate) const SENDER_KEY_MESSAGE_INFO: &[u8] = b"Wren Sender Key Message v1";

/// HMAC input deriving a message key from a chain key.
const MESSAGE_KEY_SEED: u8 = 0x01;
/// HMAC input deriving the next chain key.
const CHAIN_KEY_SEED: u8 = 0x02;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An AEAD key and nonce expanded from a message key.
pub(crate) struct CipherKeys {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) nonce: [u8; 12],
}

/// KDF_RK: `HKDF-SHA256(salt = root key, ikm = dh_out, info = ROOT_INFO)` → 64
/// bytes: the new root key, then the new chain key.
pub(crate) fn kdf_rk(root: &RootKey, dh_out: &[u8; 32]) -> (RootKey, ChainKey) {
    let hk = Hkdf::<Sha256>::new(Some(root.as_bytes()), dh_out);
    split64(&hk, ROOT_INFO)
}

/// Derives the X3DH output: `HKDF-SHA256(salt = 32 zero bytes, ikm = 32×0xFF
/// || DH1 || … , info = X3DH_INFO)` → root key, first chain key.
pub(crate) fn kdf_x3dh(dh_concat: &[u8]) -> (RootKey, ChainKey) {
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), dh_concat);
    split64(&hk, X3DH_INFO)
}

fn split64(hk: &Hkdf<Sha256>, info: &[u8]) -> (RootKey, ChainKey) {
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's 8160-byte maximum: cannot fail.
    let _ = hk.expand(info, okm.as_mut());
    let mut a = Zeroizing::new([0u8; 32]);
    let mut b = Zeroizing::new([0u8; 32]);
    let (left, right) = okm.split_at(32);
    a.copy_from_slice(left);
    b.copy_from_slice(right);
    (RootKey::from_bytes(&a), ChainKey::from_bytes(&b))
}

/// KDF_CK: returns `HMAC(ck, 0x01)` as the message key and replaces the chain
/// key with `HMAC(ck, 0x02)`.
pub(crate) fn kdf_ck(chain: &mut ChainKey) -> MessageKey {
    let (mk, next) = kdf_ck_peek(chain);
    chain.replace(&next);
    mk
}

/// KDF_CK without advancing: (message key, next chain key bytes).
pub(crate) fn kdf_ck_peek(chain: &ChainKey) -> (MessageKey, Zeroizing<[u8; 32]>) {
    let keyed = keyed_hmac(chain.as_bytes());
    let mut m1 = keyed.clone();
    m1.update(&[MESSAGE_KEY_SEED]);
    let mut m2 = keyed;
    m2.update(&[CHAIN_KEY_SEED]);
    let mut mk = Zeroizing::new([0u8; 32]);
    mk.copy_from_slice(&m1.finalize().into_bytes());
    let mut next = Zeroizing::new([0u8; 32]);
    next.copy_from_slice(&m2.finalize().into_bytes());
    (MessageKey::from_bytes(&mk), next)
}

/// HMAC-SHA256 keyed with a 32-byte key. RFC 2104 pads short keys with zeros
/// to the 64-byte block, so the padded block is the same key, and the
/// fixed-size constructor cannot fail.
pub(crate) fn keyed_hmac(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    let (head, _) = block.split_at_mut(32);
    head.copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&(*block).into())
}

/// Expands a message key into a ChaCha20-Poly1305 key and nonce:
/// `HKDF-SHA256(salt = none, ikm = mk, info)` → 44 bytes (key 32 ‖ nonce 12).
pub(crate) fn cipher_keys(mk: &MessageKey, info: &[u8]) -> CipherKeys {
    let hk = Hkdf::<Sha256>::new(None, mk.as_bytes());
    let mut okm = Zeroizing::new([0u8; 44]);
    let _ = hk.expand(info, okm.as_mut());
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    let (k, n) = okm.split_at(32);
    key.copy_from_slice(k);
    nonce.copy_from_slice(n);
    CipherKeys { key, nonce }
}

#[cfg(test)]
mod tests {
    //! Known answers for the primitives as this crate uses them.
    use super::*;

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn hmac_sha256_rfc4231_case_1() {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(&[0x0b; 20]).unwrap();
        m.update(b"Hi There");
        assert_eq!(
            m.finalize().into_bytes().as_slice(),
            unhex::<32>("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
    }

    #[test]
    fn zero_padded_hmac_key_is_the_same_key() {
        // keyed_hmac pads 32-byte keys to the block size itself (RFC 2104 §2).
        for seed in 0u8..16 {
            let key = [seed.wrapping_mul(37); 32];
            let mut a = keyed_hmac(&key);
            let mut b = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            a.update(b"chain");
            b.update(b"chain");
            assert_eq!(a.finalize().into_bytes(), b.finalize().into_bytes());
        }
    }

    #[test]
    fn hkdf_sha256_rfc5869_case_1() {
        let hk = Hkdf::<Sha256>::new(
            Some(&unhex::<13>("000102030405060708090a0b0c")),
            &[0x0b; 22],
        );
        let mut okm = [0u8; 42];
        hk.expand(&unhex::<10>("f0f1f2f3f4f5f6f7f8f9"), &mut okm)
            .unwrap();
        assert_eq!(
            okm,
            unhex::<42>(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
    }

    #[test]
    fn chain_kdf_matches_its_definition() {
        let mut ck = ChainKey::from_bytes(&[7; 32]);
        let mk = kdf_ck(&mut ck);
        let mut m1 = <HmacSha256 as KeyInit>::new_from_slice(&[7; 32]).unwrap();
        m1.update(&[0x01]);
        let mut m2 = <HmacSha256 as KeyInit>::new_from_slice(&[7; 32]).unwrap();
        m2.update(&[0x02]);
        assert_eq!(
            mk.as_bytes().as_slice(),
            m1.finalize().into_bytes().as_slice()
        );
        assert_eq!(
            ck.as_bytes().as_slice(),
            m2.finalize().into_bytes().as_slice()
        );
        // Message keys expand to key ‖ nonce = HKDF(no salt, mk, info, 44).
        let expanded = cipher_keys(&mk, MESSAGE_INFO);
        let mut okm = [0u8; 44];
        Hkdf::<Sha256>::new(None, mk.as_bytes())
            .expand(MESSAGE_INFO, &mut okm)
            .unwrap();
        assert_eq!(expanded.key.as_slice(), &okm[..32]);
        assert_eq!(expanded.nonce.as_slice(), &okm[32..]);
    }
}
