//! Secret key types. Each zeroizes its bytes on drop and prints `[redacted]`.
//!
//! Long-lived secrets are boxed so that moving them does not leave copies of
//! the key on the stack. Methods that copy secret bytes out say so.

use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name(Box<[u8; 32]>);

        impl $name {
            /// Copies secret bytes into a new key; the caller keeps (and zeroizes) its copy.
            pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
                Self(Box::new(*bytes))
            }

            /// The secret bytes (borrowed, not copied).
            pub(crate) fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Replaces the key in place (used to advance chains).
            #[allow(dead_code, reason = "only some key types are advanced in place")]
            pub(crate) fn replace(&mut self, bytes: &[u8; 32]) {
                self.0.copy_from_slice(bytes);
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_key!(
    /// The double ratchet's root key: mixed with each Diffie-Hellman output to
    /// start a new sending or receiving chain.
    RootKey
);
secret_key!(
    /// A symmetric chain key: advanced by HMAC for every message of a chain.
    ChainKey
);
secret_key!(
    /// A single message's key; used once, then dropped (or stored while skipped).
    MessageKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let k = ChainKey::from_bytes(&[0xab; 32]);
        assert_eq!(format!("{k:?}"), "ChainKey([redacted])");
        assert_eq!(
            format!("{:?}", RootKey::from_bytes(&[1; 32])),
            "RootKey([redacted])"
        );
        assert_eq!(
            format!("{:?}", MessageKey::from_bytes(&[1; 32])),
            "MessageKey([redacted])"
        );
    }
}
