//! Groups (docs/protocol.md Part VIII): the group id and topic, signed
//! membership operations, the deterministic state folded from them, the
//! envelope published on a group's topic, sealing and accepting the
//! messages it carries, and the order of a group's history.
//!
//! ```
//! use wren_crypto::IdentityKeyPair;
//! use wren_proto::group::{Group, GroupOp, InitialMember, OpBody};
//! use wren_proto::{DisplayName, Timestamp};
//!
//! let alice = IdentityKeyPair::from_secret_bytes(&[1; 32]);
//! let bob = IdentityKeyPair::from_secret_bytes(&[2; 32]);
//! let create = GroupOp::create(
//!     &alice,
//!     [7; 32], // from a CSPRNG in real use
//!     Timestamp::from_millis(0),
//!     DisplayName::new("Friends")?,
//!     false,
//!     vec![InitialMember { key: *bob.public(), admin: false }],
//! )?;
//! let mut group = Group::from_create(create)?;
//! let leave = group.sign_op(&bob, Timestamp::from_millis(1), OpBody::Leave)?;
//! group.apply(leave)?;
//! assert!(!group.state().is_member(bob.public()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod envelope;
mod error;
mod id;
mod message;
mod op;
mod order;
mod state;

pub use envelope::{GroupEnvelope, group_message_id};
pub use error::GroupError;
pub use id::{TOPIC_PREFIX, group_id, topic_hash, topic_name};
pub use message::{GroupMessageError, Inbound, accept, seal};
pub use op::{GroupOp, InitialMember, OpBody};
pub use order::{HistoryKey, next_sent_at};
pub use state::{Applied, Group, GroupState, MembershipChange};
