//! Every size limit of the wire format, as named constants.
//!
//! The limits nest: a [`Payload`](crate::Payload) frame of at most
//! [`MAX_PAYLOAD_BYTES`] is encrypted by the cryptography layer into a
//! ciphertext of at most [`MAX_CIPHERTEXT_BYTES`], which an
//! [`Envelope`](crate::Envelope) frame of at most [`MAX_ENVELOPE_BYTES`]
//! carries. The assertions at the bottom of this module check at compile time
//! that the nesting leaves enough room at every level, including room for the
//! decoder's accounting (see [`codec`](crate::codec) for why a decoder limit
//! needs slack over the encoded size).
//!
//! Changing any value here changes which frames peers accept: treat it as a
//! wire format change.

/// Largest frame this crate ever decodes or produces: an encoded
/// [`Envelope`](crate::Envelope), version byte included (64 KiB).
///
/// It matches the default maximum message size of libp2p gossipsub, so an
/// envelope always fits in one transport message, and it bounds the memory a
/// single hostile frame can make the decoder allocate.
pub const MAX_ENVELOPE_BYTES: usize = 65_536;

/// Room reserved inside an envelope for the envelope's own framing around a
/// ciphertext, and for the decoder's accounting.
///
/// On the wire an envelope adds at most 37 bytes to a ciphertext (version 1,
/// tag 1, group id 32, length prefix 3 for any length under 65 536). The bincode decoder's limit counts every integer at its full
/// width (a length prefix counts 8 bytes, an enum tag 4), so a ciphertext
/// counts for up to 56 bytes more than itself. 128 covers both with margin.
pub const ENVELOPE_OVERHEAD_BYTES: usize = 128;

/// Largest ciphertext (an X3DH prekey message or a double-ratchet message, as
/// produced by the cryptography crate) an envelope may carry:
/// `MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD_BYTES` = 65 408 bytes.
pub const MAX_CIPHERTEXT_BYTES: usize = MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD_BYTES;

/// Largest encoded [`Payload`](crate::Payload) frame (version byte included),
/// the plaintext that the double ratchet encrypts.
///
/// It leaves [`CRYPTO_OVERHEAD_BYTES`] = 408 bytes under
/// [`MAX_CIPHERTEXT_BYTES`] for the cryptography layer's headers and tag.
pub const MAX_PAYLOAD_BYTES: usize = 65_000;

/// Bytes the cryptography layer may add to a payload: the largest prekey
/// message (X3DH header, embedded ratchet header, AEAD tag, version bytes)
/// built around a [`MAX_PAYLOAD_BYTES`] payload must not exceed
/// [`MAX_CIPHERTEXT_BYTES`]. This is a contract with `wren-crypto`.
pub const CRYPTO_OVERHEAD_BYTES: usize = MAX_CIPHERTEXT_BYTES - MAX_PAYLOAD_BYTES;

/// Largest text body of a [`Text`](crate::Text) message and of a contact
/// request greeting, in UTF-8 bytes (32 KiB). Long enough for any chat
/// message; twice it still fits in one payload.
pub const MAX_TEXT_BYTES: usize = 32_768;

/// Largest [`DisplayName`](crate::DisplayName), in UTF-8 bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = wren_crypto::limits::MAX_DISPLAY_NAME_BYTES;

/// Largest pairing code URI carried in a
/// [`ContactRequest`](crate::ContactRequest), in (ASCII) bytes: the
/// cryptography crate's bound on a pairing code, so every valid code fits.
pub const MAX_PAIRING_CODE_BYTES: usize = wren_crypto::limits::MAX_PAIRING_CODE_CHARS;

/// Most message ids one [`Receipt`](crate::Receipt) may acknowledge. Larger
/// batches are split into several receipts.
pub const MAX_RECEIPT_IDS: usize = 256;

/// Largest sender-key distribution message (RESERVED for groups). The
/// message it is reserved for is about 170 bytes (ids, chain key, signing key,
/// signature); 1 KiB leaves room for a later version.
pub const MAX_SENDER_KEY_DISTRIBUTION_BYTES: usize = 1_024;

/// Largest envelope frame a mailbox deposit may wrap (RESERVED for the relay
/// mailbox protocol): `MAX_ENVELOPE_BYTES - 64` = 65 472 bytes, enough for an
/// envelope carrying a [`MAX_CIPHERTEXT_BYTES`] ciphertext (at most
/// 65 445 bytes) while the deposit itself stays under
/// [`MAX_ENVELOPE_BYTES`].
pub const MAX_DEPOSIT_BYTES: usize = MAX_ENVELOPE_BYTES - 64;

/// Most envelopes one mailbox fetch may ask for (RESERVED, provisional).
pub const MAX_MAILBOX_FETCH: u16 = 64;

/// Most members of a group, its creator included. Every removal makes each
/// remaining member send one pairwise message per other member (sender-key
/// rotation), so the bound keeps a rotation's cost bounded.
pub const MAX_GROUP_MEMBERS: usize = 256;

/// Most causal parents of one group op. An author with more heads names the
/// smallest ones; the others are merged by later ops.
pub const MAX_OP_PARENTS: usize = 16;

/// Largest encoded group op frame, version byte and signature included. A
/// `Create` listing [`MAX_GROUP_MEMBERS`] members is about 8.7 KB.
pub const MAX_GROUP_OP_BYTES: usize = 16_384;

/// Most ops a replica keeps for one group (effective or not). Past it, ops
/// are refused and the group must be re-created.
pub const MAX_GROUP_OPS: usize = 10_000;

/// Most ops of one group waiting for unknown parents. Past it, further ops
/// with unknown parents are refused (their sender may send them again).
pub const MAX_PENDING_GROUP_OPS: usize = 256;

/// Largest sender-key message a published group envelope may carry
/// (= [`MAX_CIPHERTEXT_BYTES`]): a sender-key message around the largest
/// payload is 65 089 bytes.
pub const MAX_GROUP_MESSAGE_BYTES: usize = MAX_CIPHERTEXT_BYTES;

/// Largest group frame carried by a `Payload::GroupMessage` (docs/protocol.md
/// §G9): `MAX_PAYLOAD_BYTES - 12` = 64 988 bytes (the decoder's claim for the
/// tag and the length). Smaller than a topic frame may be, but a group frame
/// only ever carries a `Payload::Text`, whose largest frame (about 33 KB)
/// fits.
pub const MAX_PAIRWISE_GROUP_FRAME_BYTES: usize = MAX_PAYLOAD_BYTES - 12;

/// How far ahead of the receiver's clock a group message's `sent_at` may
/// sort (docs/protocol.md §G9): 5 minutes. A later `sent_at` sorts at the
/// receipt time plus this bound (`group::HistoryKey`), so a sender's wrong
/// clock cannot pin its message at the end of the history, while clocks
/// that are merely a little off still give every member the same order.
pub const MAX_GROUP_CLOCK_SKEW_MS: u64 = 5 * 60 * 1_000;

/// Most member cards in one `Payload::GroupIntroduction` (docs/protocol.md
/// §G13): 15 cards with the longest pairing codes fit in a payload; an
/// introducer with more members to introduce sends several.
pub const MAX_INTRODUCTION_CARDS: usize = 15;

// Compile-time checks that the limits nest. `claim` figures are the bincode
// decoder's accounting of the largest valid value of each kind (see docs/protocol.md Part II,
// "Decoder limit accounting"); they must stay within the frame limit or a
// valid frame would be refused.
const _: () = {
    // Envelope::Group: tag 4 + group 32 + length 8 + ciphertext.
    assert!(4 + 32 + 8 + MAX_CIPHERTEXT_BYTES <= MAX_ENVELOPE_BYTES);
    // Envelope::Mailbox(Deposit): tag 4 + tag 4 + recipient 32 + length 8 + envelope.
    assert!(4 + 4 + 32 + 8 + MAX_DEPOSIT_BYTES <= MAX_ENVELOPE_BYTES);
    // An envelope carrying the largest ciphertext fits in a deposit:
    // version 1 + tag 1 + group 32 + length 3 + ciphertext.
    assert!(1 + 1 + 32 + 3 + MAX_CIPHERTEXT_BYTES <= MAX_DEPOSIT_BYTES);
    // Payload::ContactRequest, the largest payload: tag 4 + id 16 + time 8
    // + length 8 + code + option 1 + length 8 + greeting.
    assert!(4 + 16 + 8 + 8 + MAX_PAIRING_CODE_BYTES + 1 + 8 + MAX_TEXT_BYTES <= MAX_PAYLOAD_BYTES);
    // Payload::Text: tag 4 + id 16 + time 8 + length 8 + body + option 1 + id 16.
    assert!(4 + 16 + 8 + 8 + MAX_TEXT_BYTES + 1 + 16 <= MAX_PAYLOAD_BYTES);
    // Payload receipts: tag 4 + length 8 + ids.
    assert!(4 + 8 + 16 * MAX_RECEIPT_IDS <= MAX_PAYLOAD_BYTES);
    // Payload::SenderKeyDistribution: tag 4 + group 32 + length 8 + message.
    assert!(4 + 32 + 8 + MAX_SENDER_KEY_DISTRIBUTION_BYTES <= MAX_PAYLOAD_BYTES);
    // Payload::GroupOp: tag 4 + length 8 + op frame.
    assert!(4 + 8 + MAX_GROUP_OP_BYTES <= MAX_PAYLOAD_BYTES);
    // Payload::GroupSenderKey: tag 4 + group 32 + epoch 32 + distribution 73.
    assert!(4 + 32 + 32 + 73 <= MAX_PAYLOAD_BYTES);
    // Payload::GroupMessage: tag 4 + length 8 + group frame.
    assert!(4 + 8 + MAX_PAIRWISE_GROUP_FRAME_BYTES <= MAX_PAYLOAD_BYTES);
    // The largest valid group frame fits in it: version 1 + tag 1 + topic 32
    // + sender 32 + length 3 + a sender-key message (89 bytes of overhead)
    // around the largest text payload (version 1 + tag 1 + id 16 + time 9
    // + length 3 + body + reply 17).
    assert!(
        1 + 1 + 32 + 32 + 3 + 89 + (1 + 1 + 16 + 9 + 3 + MAX_TEXT_BYTES + 17)
            <= MAX_PAIRWISE_GROUP_FRAME_BYTES
    );
    // GroupEnvelope::Message: tag 4 + topic 32 + sender 32 + length 8 + message.
    assert!(4 + 32 + 32 + 8 + MAX_GROUP_MESSAGE_BYTES <= MAX_ENVELOPE_BYTES);
    // A sender-key message around the largest payload fits in it (89 bytes
    // of sender-key overhead, docs/protocol.md §S3).
    assert!(MAX_PAYLOAD_BYTES + 89 <= MAX_GROUP_MESSAGE_BYTES);
    // The largest Create: version 1 + group 32 + author 32 + time 8 + parents
    // length 8 + tag 4 + nonce 32 + name 8 + 64 + channel 1 + members length 8
    // + (key 32 + admin 1) per other member + signature 64, as claimed.
    assert!(
        1 + 32
            + 32
            + 8
            + 8
            + 4
            + 32
            + 8
            + MAX_DISPLAY_NAME_BYTES
            + 1
            + 8
            + 33 * (MAX_GROUP_MEMBERS - 1)
            + 64
            <= MAX_GROUP_OP_BYTES
    );
    // Any other op: parents at most 16 ids, a name or a key.
    assert!(
        1 + 32 + 32 + 8 + 8 + 32 * MAX_OP_PARENTS + 4 + 8 + MAX_DISPLAY_NAME_BYTES + 64
            <= MAX_GROUP_OP_BYTES
    );
    // Payload::GroupIntroduction: tag 4 + group 32 + length 8 + (member 32
    // + length 8 + code) per card.
    assert!(
        4 + 32 + 8 + MAX_INTRODUCTION_CARDS * (32 + 8 + MAX_PAIRING_CODE_BYTES)
            <= MAX_PAYLOAD_BYTES
    );
    // Payload::GroupPeerHello: tag 4 + group 32 + length 8 + code.
    assert!(4 + 32 + 8 + MAX_PAIRING_CODE_BYTES <= MAX_PAYLOAD_BYTES);
    // The payload leaves the cryptography layer a useful budget.
    assert!(CRYPTO_OVERHEAD_BYTES >= 256);
};
