//! Every bound the cryptographic layer enforces, in one place.
//!
//! Each limit protects a receiver from a peer that sends too much, skips too
//! far or floods it with state. docs/protocol.md lists them with their reasons.

/// Most message keys one ratchet message may make a receiver derive and keep
/// for a single chain (the gap between the expected and the received counter).
pub const MAX_SKIP: u32 = 1_000;

/// Most skipped message keys one session keeps in total; past it the oldest
/// are evicted (a message that would have needed one then fails to decrypt).
pub const MAX_SKIPPED_KEYS: usize = 2_000;

/// Most sending keys a session reserves ahead of the stored state (see
/// `Session::reserve_sending_keys`): the most a crash can make the peer skip.
/// Well below [`MAX_SKIP`], so a peer always accepts the jump.
pub const MAX_RESERVED_SENDING_KEYS: u32 = 64;

/// Most previous receiving chains a session remembers so that a replay of an
/// old message is reported as a replay rather than as a decryption failure.
pub const MAX_PREVIOUS_RECEIVING_CHAINS: usize = 5;

/// Largest plaintext the ratchet encrypts (64 KiB).
pub const MAX_PLAINTEXT_BYTES: usize = 65_536;

/// Most archived sessions a [`crate::SessionBook`] keeps besides the active one.
pub const MAX_ARCHIVED_SESSIONS: usize = 4;

/// Longest display name carried in a pairing code, in UTF-8 bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 64;

/// Most network hints (addresses, relays) in one pairing code.
pub const MAX_NETWORK_HINTS: usize = 8;

/// Longest single network hint (a multiaddr in text form), in bytes.
pub const MAX_NETWORK_HINT_BYTES: usize = 256;

/// Longest pairing code URI accepted by the parser, in characters. The
/// largest valid code (longest name, most and longest hints) is about 3,800
/// characters, within a version 40 QR code (4,296 alphanumeric characters).
pub const MAX_PAIRING_CODE_CHARS: usize = 4_096;

/// How long a signed prekey is the current one before it should be rotated (7 days, seconds).
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 24 * 60 * 60;

/// How long a rotated-out signed prekey still accepts new sessions (28 days, seconds).
/// Pairing codes shared before a rotation keep working for this long.
pub const SIGNED_PREKEY_GRACE_SECS: u64 = 28 * 24 * 60 * 60;

/// Most message keys a sender-key receiver derives ahead for one message.
pub const MAX_SENDER_KEY_SKIP: u32 = 2_000;

/// Most skipped message keys one sender-key receiver keeps; oldest evicted.
pub const MAX_SENDER_KEY_SKIPPED_KEYS: usize = 2_000;

/// Most iterations a sender key reserves ahead of the stored state (see
/// `SenderKey::reserve`): the most a crash can make the members skip. Well
/// below [`MAX_SENDER_KEY_SKIP`], so a member always accepts the jump.
pub const MAX_RESERVED_SENDER_KEYS: u32 = 64;

/// Most sender-key chains (current and rotated-out) kept per group member,
/// so late messages from before a rotation still decrypt.
pub const MAX_SENDER_KEY_CHAINS: usize = 5;

const _: () = assert!(MAX_RESERVED_SENDING_KEYS < MAX_SKIP);
const _: () = assert!(MAX_RESERVED_SENDER_KEYS < MAX_SENDER_KEY_SKIP);
