//! Commands from [`Net`](crate::Net) handles to the swarm task. Each carries
//! a oneshot sender for its reply.

use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use crate::bundle::BundleResponse;
use crate::dm::{Ack, DirectResponse};
use crate::error::{NetError, PublishError, SendError};
use crate::event::{
    Acceptance, BundleReply, GroupMessageId, InboundReply, NetStats, Path, RelayInfo,
};
use crate::mailbox::{MailboxRequest, MailboxResponse};

/// One request to the swarm task.
#[derive(Debug)]
pub(crate) enum Command {
    SendDirect {
        peer: PeerId,
        envelopes: Vec<Vec<u8>>,
        reply: oneshot::Sender<Result<Vec<Ack>, SendError>>,
    },
    RespondDirect {
        token: InboundReply,
        response: DirectResponse,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    FetchBundle {
        peer: PeerId,
        reply: oneshot::Sender<Result<Vec<u8>, SendError>>,
    },
    RespondBundle {
        token: BundleReply,
        response: BundleResponse,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Mailbox {
        relay: PeerId,
        addrs: Vec<Multiaddr>,
        request: MailboxRequest,
        reply: oneshot::Sender<Result<MailboxResponse, SendError>>,
    },
    AddRelay {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, NetError>>,
    },
    RemoveRelay {
        relay: PeerId,
        reply: oneshot::Sender<bool>,
    },
    Relays {
        reply: oneshot::Sender<Vec<RelayInfo>>,
    },
    PeerPath {
        peer: PeerId,
        reply: oneshot::Sender<Option<Path>>,
    },
    ExternalAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    AddAddresses {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        reply: oneshot::Sender<()>,
    },
    Dial {
        peer: PeerId,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    ConnectedPeers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    Subscribe {
        topic: String,
        reply: oneshot::Sender<Result<bool, NetError>>,
    },
    Unsubscribe {
        topic: String,
        reply: oneshot::Sender<bool>,
    },
    Publish {
        topic: String,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<GroupMessageId, PublishError>>,
    },
    ReportValidation {
        message_id: GroupMessageId,
        source: PeerId,
        acceptance: Acceptance,
        reply: oneshot::Sender<bool>,
    },
    Stats {
        reply: oneshot::Sender<NetStats>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}
