//! Wren's messenger engine: every front end (the `wren-cli` client, the
//! desktop GUI) drives Wren through it.
//!
//! [`Node::open`] opens the store (`wren-store`), starts the network
//! (`wren-net`) with the identity's key, and spawns **one engine task** that
//! owns all mutable state: the store handle, the network handle, the
//! session cache, the outbox scheduler and the pending contact requests.
//! [`Node`] is a cheap, cloneable handle that sends commands to it over a
//! bounded channel, each with a oneshot for the reply; [`NodeEvent`]s come
//! back over a bounded channel that never blocks the engine (see
//! [`event`]).
//!
//! ```no_run
//! # async fn demo(home: &std::path::Path, code: &str) -> Result<(), wren_core::NodeError> {
//! use wren_core::{Node, NodeConfig};
//! use wren_store::Unlock;
//!
//! Node::init(home, "Ada", Unlock::KeyFile).await?;
//! let (node, mut events) = Node::open(NodeConfig::new(home)).await?;
//! let contact = node.add_contact(code, Some("bob".into())).await?;
//! node.send_text("bob", "hello").await?;
//! while let Some(event) = events.recv().await {
//!     println!("{event:?}");
//! }
//! # let _ = contact; Ok(()) }
//! ```
//!
//! The messaging rules (contact requests, acknowledgements, statuses,
//! ordering, retries) are specified in docs/protocol.md, Part VI.

mod config;
mod engine;
mod error;
pub mod event;
pub mod limits;
mod node;
mod types;

pub use config::{NodeConfig, listen_covers};
pub use error::NodeError;
pub use event::NodeEvent;
pub use node::Node;
pub use types::{
    ContactInfo, ContactPreview, ContactState, ConversationInfo, GroupInfo, Identity, Known,
    MessageInfo, NearbyPeer, Path, RelayInfo, RelayState, RequestInfo, SentMessage, Status,
};
pub use wren_net::Multiaddr;
/// Why the store could not be opened, among others: front ends match
/// [`StoreError::WrongPassphrase`] inside [`NodeError::Store`].
pub use wren_store::StoreError;
pub use wren_store::Unlock;
