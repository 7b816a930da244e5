//! Group identifiers and the group's gossipsub topic (docs/protocol.md §G1).
//!
//! A [`GroupId`] is derived from the creator's identity key and 32 random
//! bytes, so it is unpredictable and only the creator can sign the `Create`
//! that matches it. The topic is a hash of the id: the name and the id never
//! appear on the topic.

use sha2::{Digest, Sha256};
use wren_crypto::IdentityKey;

use crate::ids::GroupId;

/// Domain separation of [`group_id`] (17 ASCII bytes).
const GROUP_ID_LABEL: &[u8] = b"Wren Group Id v1";
/// Domain separation of [`topic_hash`] (19 ASCII bytes).
const TOPIC_LABEL: &[u8] = b"Wren Group Topic v1";
/// Prefix of every group topic name.
pub const TOPIC_PREFIX: &str = "wren/g/1/";

/// The id of the group that `creator` creates with `nonce` (32 bytes the
/// creator draws from a CSPRNG):
/// `SHA-256("Wren Group Id v1" ‖ creator ‖ nonce)`.
pub fn group_id(creator: &IdentityKey, nonce: &[u8; 32]) -> GroupId {
    let digest = Sha256::new()
        .chain_update(GROUP_ID_LABEL)
        .chain_update(creator.as_bytes())
        .chain_update(nonce)
        .finalize();
    GroupId::from_bytes(digest.into())
}

/// The 32-byte hash naming the group's topic, also carried in published
/// group envelopes: `SHA-256("Wren Group Topic v1" ‖ group id)`.
pub fn topic_hash(group: &GroupId) -> [u8; 32] {
    Sha256::new()
        .chain_update(TOPIC_LABEL)
        .chain_update(group.as_bytes())
        .finalize()
        .into()
}

/// The gossipsub topic name of the group: `wren/g/1/` followed by the topic
/// hash as 64 lowercase hex digits (73 bytes).
pub fn topic_name(group: &GroupId) -> String {
    use std::fmt::Write;
    let mut name = String::with_capacity(TOPIC_PREFIX.len() + 64);
    name.push_str(TOPIC_PREFIX);
    for byte in topic_hash(group) {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_have_the_documented_lengths() {
        assert_eq!(GROUP_ID_LABEL.len(), 16);
        assert_eq!(TOPIC_LABEL.len(), 19);
    }

    #[test]
    fn topic_name_is_prefix_and_hex_hash() {
        let group = GroupId::from_bytes([7; 32]);
        let name = topic_name(&group);
        assert_eq!(name.len(), 73);
        assert!(name.starts_with("wren/g/1/"));
        assert!(!name.contains(&group.to_string()));
    }
}
