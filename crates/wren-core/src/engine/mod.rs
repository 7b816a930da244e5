//! The engine task: the one owner of the node's mutable state.
//!
//! ```text
//! Node handles ──Command (bounded mpsc, oneshot reply)──▶ Engine ──NodeEvent (bounded, try_send)──▶ front end
//!                                                          │  ▲
//!                             Net commands (send, respond) ▼  │ NetEvent (bounded) + send completions
//!                                                        wren-net
//! ```

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::{mpsc, oneshot};
use wren_net::Multiaddr;
use wren_store::Unlock;

use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::types::{
    ContactInfo, ConversationInfo, Identity, MessageInfo, NearbyPeer, RequestInfo, SentMessage,
};

/// The reply channel of a command.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// One request from a [`Node`](crate::Node) handle.
pub(crate) enum Command {
    PairingCode {
        reply: Reply<String>,
    },
    ListenAddrs {
        reply: Reply<Vec<Multiaddr>>,
    },
    AddContact {
        target: String,
        alias: Option<String>,
        reply: Reply<ContactInfo>,
    },
    Contacts {
        reply: Reply<Vec<ContactInfo>>,
    },
    ContactRequests {
        reply: Reply<Vec<RequestInfo>>,
    },
    Accept {
        contact: String,
        alias: Option<String>,
        reply: Reply<ContactInfo>,
    },
    Decline {
        contact: String,
        reply: Reply<()>,
    },
    Nearby {
        reply: Reply<Vec<NearbyPeer>>,
    },
    SafetyNumber {
        contact: String,
        reply: Reply<String>,
    },
    Verify {
        contact: String,
        reply: Reply<ContactInfo>,
    },
    SendText {
        to: String,
        text: String,
        reply: Reply<SentMessage>,
    },
    Retry {
        id: String,
        reply: Reply<()>,
    },
    Conversations {
        reply: Reply<Vec<ConversationInfo>>,
    },
    History {
        contact: String,
        before: Option<u64>,
        limit: usize,
        reply: Reply<Vec<MessageInfo>>,
    },
    MarkRead {
        target: String,
        reply: Reply<usize>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}

/// What [`start`] hands to [`Node::open`](crate::Node::open).
pub(crate) struct Started {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) events: mpsc::Receiver<NodeEvent>,
    pub(crate) identity: Identity,
    pub(crate) dropped: Arc<AtomicU64>,
}

/// Creates a store with a new identity.
pub(crate) async fn init(
    _home: &Path,
    _name: &str,
    _unlock: Unlock,
) -> Result<Identity, NodeError> {
    Err(NodeError::Unavailable("init"))
}

/// Opens the store and the network and spawns the engine task.
pub(crate) async fn start(_config: NodeConfig) -> Result<Started, NodeError> {
    Err(NodeError::Unavailable("open"))
}
