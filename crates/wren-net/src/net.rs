//! The handle the engine holds, and [`spawn`], which starts the swarm task.

use libp2p::identity::KeyType;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::build_swarm;
use crate::bundle::BundleResponse;
use crate::command::Command;
use crate::config::NetConfig;
use crate::dm::{Ack, DirectResponse};
use crate::error::{NetError, PublishError, SendError};
use crate::event::{
    Acceptance, BundleReply, GroupMessageId, InboundReply, NetEvent, NetStats, Path, RelayInfo,
};
use crate::event_loop::EventLoop;
use crate::limits::COMMAND_CHANNEL_CAPACITY;
use crate::mailbox::{MailboxRequest, MailboxResponse};

/// Builds the swarm from `config`, starts listening, and spawns the swarm
/// task on the current tokio runtime.
///
/// Returns the handle and the receiving end of the event channel. The
/// engine must keep reading events: while the channel is full, inbound
/// requests are answered "busy" and informational events are dropped (see
/// [`crate::event`]). The task stops on [`Net::shutdown`] or when every
/// handle is dropped.
///
/// Fails outside a tokio runtime, for a non-Ed25519 keypair, or when a
/// transport or listen address cannot be set up.
pub fn spawn(config: NetConfig) -> Result<(Net, mpsc::Receiver<NetEvent>), NetError> {
    if config.keypair.key_type() != KeyType::Ed25519 {
        return Err(NetError::NotEd25519);
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
    let mut swarm = build_swarm(&config)?;
    for addr in config.listen_addrs() {
        swarm
            .listen_on(addr.clone())
            .map_err(|error| NetError::Listen {
                addr: addr.to_string(),
                reason: error.to_string(),
            })?;
    }
    let local_peer_id = *swarm.local_peer_id();
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
    runtime.spawn(EventLoop::new(swarm, command_rx, event_tx).run());
    Ok((
        Net {
            commands: command_tx,
            local_peer_id,
        },
        event_rx,
    ))
}

/// A cheap, cloneable handle to the swarm task.
///
/// Every method sends one command over a bounded channel (waiting while it
/// is full) and awaits the task's reply. Methods fail with
/// [`NetError::Shutdown`] / [`SendError::Shutdown`] once the task stopped.
///
/// Reconnection is not this layer's job: a failed [`Net::send_direct`]
/// leaves the envelopes with the engine, whose outbox retries with backoff.
/// Sending dials on demand with every known address of the peer; idle
/// connections close after [`NetConfig::idle_timeout`].
#[derive(Debug, Clone)]
pub struct Net {
    commands: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl Net {
    /// This node's peer id (its Wren identity).
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Sends a batch of envelopes over `/wren/dm/1`, dialing `peer` if
    /// needed, and resolves with one acknowledgement per envelope, in order.
    ///
    /// The batch must hold 1 to [`MAX_BATCH`](crate::limits::MAX_BATCH)
    /// envelopes of 1 to 65 536 bytes, at most
    /// [`MAX_DM_FRAME_BYTES`](crate::limits::MAX_DM_FRAME_BYTES) in all
    /// (else [`SendError::Invalid`], nothing sent). On any error the engine
    /// must assume nothing was stored and retry later (envelopes are
    /// idempotent: the receiver acknowledges duplicates).
    pub async fn send_direct(
        &self,
        peer: PeerId,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<Ack>, SendError> {
        self.call(|reply| Command::SendDirect {
            peer,
            envelopes,
            reply,
        })
        .await
        .map_err(|_| SendError::Shutdown)?
    }

    /// Answers an inbound [`NetEvent::DirectRequest`] with one
    /// acknowledgement per envelope, in order, after storing them durably.
    ///
    /// Fails with [`NetError::ReplyGone`] if the request already timed out
    /// or its connection closed (the sender will retry, and the engine will
    /// acknowledge the duplicates), and with [`NetError::AckCountMismatch`]
    /// if the count is wrong (the sender is told "busy" instead).
    pub async fn respond_direct(
        &self,
        reply: InboundReply,
        acks: Vec<Ack>,
    ) -> Result<(), NetError> {
        self.respond(reply, DirectResponse::Acks(acks)).await
    }

    /// Answers like [`Net::respond_direct`] without waiting, from any thread.
    ///
    /// The engine's store thread calls it the moment a batch is durable, so
    /// the acknowledgement leaves without a hop back through the engine.
    /// Hands the answer back when the command queue is full or the network
    /// task has stopped, for the caller to fall back to
    /// [`Net::respond_direct`]. The swarm's verdict on the answer (for
    /// example a request that already timed out) is not reported.
    pub fn try_respond_direct(
        &self,
        reply: InboundReply,
        acks: Vec<Ack>,
    ) -> Result<(), (InboundReply, Vec<Ack>)> {
        let token = reply.0;
        let copy = acks.clone();
        let (verdict, _) = oneshot::channel();
        self.commands
            .try_send(Command::RespondDirect {
                token: reply,
                response: DirectResponse::Acks(acks),
                reply: verdict,
            })
            .map_err(|_| (InboundReply(token), copy))
    }

    /// Answers an inbound [`NetEvent::DirectRequest`] with "busy": nothing
    /// was stored and the sender should retry later.
    pub async fn respond_direct_busy(&self, reply: InboundReply) -> Result<(), NetError> {
        self.respond(reply, DirectResponse::Busy).await
    }

    async fn respond(&self, token: InboundReply, response: DirectResponse) -> Result<(), NetError> {
        self.call(|reply| Command::RespondDirect {
            token,
            response,
            reply,
        })
        .await?
    }

    /// Fetches `peer`'s signed prekey bundle over `/wren/bundle/1`, dialing
    /// it if needed. The bytes are unverified: the engine checks the
    /// signature.
    pub async fn fetch_bundle(&self, peer: PeerId) -> Result<Vec<u8>, SendError> {
        self.call(|reply| Command::FetchBundle { peer, reply })
            .await
            .map_err(|_| SendError::Shutdown)?
    }

    /// Answers an inbound [`NetEvent::BundleRequest`] with this node's
    /// current signed prekey bundle (1 to
    /// [`MAX_BUNDLE_BYTES`](crate::limits::MAX_BUNDLE_BYTES) bytes; otherwise
    /// the requester is told "busy" and this fails with
    /// [`NetError::InvalidArgument`]).
    pub async fn respond_bundle(
        &self,
        reply: BundleReply,
        bundle: Vec<u8>,
    ) -> Result<(), NetError> {
        self.call(|done| Command::RespondBundle {
            token: reply,
            response: BundleResponse::Bundle(bundle),
            reply: done,
        })
        .await?
    }

    /// Answers an inbound [`NetEvent::BundleRequest`] with "busy".
    pub async fn respond_bundle_busy(&self, reply: BundleReply) -> Result<(), NetError> {
        self.call(|done| Command::RespondBundle {
            token: reply,
            response: BundleResponse::Busy,
            reply: done,
        })
        .await?
    }

    /// Sends one `/wren/mailbox/1` request to `relay` and resolves with its
    /// answer, dialing it with `addrs` (at most
    /// [`MAX_ADDRESSES_PER_PEER`](crate::limits::MAX_ADDRESSES_PER_PEER)
    /// are used, plus any address already known) if not connected.
    ///
    /// A refusal is an answer: it comes back as
    /// [`MailboxResponse::Refused`] with its code. An invalid request
    /// (see [`mailbox::validate_request`](crate::mailbox::validate_request))
    /// fails with [`SendError::Invalid`] without being sent; a response of
    /// the wrong kind (a page for a deposit, the wrong number of deposit
    /// outcomes, more items than asked for or out of order) with
    /// [`SendError::Protocol`]. As with direct messages, after a failure the
    /// engine cannot know whether a deposit was stored: it retries, and the
    /// recipient drops duplicates.
    pub async fn mailbox(
        &self,
        relay: PeerId,
        addrs: Vec<Multiaddr>,
        request: MailboxRequest,
    ) -> Result<MailboxResponse, SendError> {
        self.call(|reply| Command::Mailbox {
            relay,
            addrs,
            request,
            reply,
        })
        .await
        .map_err(|_| SendError::Shutdown)?
    }

    /// Keeps a reservation on the relay at `addr`, which must end with
    /// `/p2p/RELAY_PEER_ID` (see
    /// [`RelayCode::addrs_with_peer`](crate::RelayCode::addrs_with_peer)),
    /// and returns the relay's peer id.
    ///
    /// The node dials the relay and listens on `<addr>/p2p-circuit`; once
    /// the relay accepts, [`NetEvent::RelayReserved`] carries the circuit
    /// addresses to advertise. A failed attempt or a lost reservation
    /// ([`NetEvent::RelayLost`]) is retried with backoff from 1 s to 5 min,
    /// for as long as the relay is kept: adding an unreachable relay
    /// succeeds. Adding a known relay again only updates its address.
    /// Fails with [`NetError::TooManyRelays`] beyond
    /// [`MAX_RELAYS`](crate::limits::MAX_RELAYS) and with
    /// [`NetError::InvalidArgument`] without the `/p2p/…` suffix.
    pub async fn add_relay(&self, addr: Multiaddr) -> Result<PeerId, NetError> {
        self.call(|reply| Command::AddRelay { addr, reply }).await?
    }

    /// Stops keeping a reservation on `relay` (its circuit addresses stop
    /// working). Returns `false` if it was not a relay of this node.
    pub async fn remove_relay(&self, relay: PeerId) -> Result<bool, NetError> {
        self.call(|reply| Command::RemoveRelay { relay, reply })
            .await
    }

    /// Every relay added with [`Net::add_relay`] and its state.
    pub async fn relays(&self) -> Result<Vec<RelayInfo>, NetError> {
        self.call(|reply| Command::Relays { reply }).await
    }

    /// How this node is connected to `peer` now: [`Path::Direct`] if any
    /// open connection is direct, [`Path::Relayed`] if all go through a
    /// relay, `None` if not connected.
    pub async fn peer_path(&self, peer: PeerId) -> Result<Option<Path>, NetError> {
        self.call(|reply| Command::PeerPath { peer, reply }).await
    }

    /// This node's confirmed external addresses: circuit addresses of
    /// accepted relay reservations and addresses AutoNAT confirmed. What
    /// peers merely report seeing (identify's observed addresses) is never
    /// among them until AutoNAT confirms it.
    pub async fn external_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(|reply| Command::ExternalAddrs { reply }).await
    }

    /// Adds addresses where `peer` can be reached (from a pairing code, for
    /// example); later dials use them. At most
    /// [`MAX_ADDRESSES_PER_PEER`](crate::limits::MAX_ADDRESSES_PER_PEER) are
    /// taken from one call. Addresses learned from identify and mDNS are
    /// added automatically.
    pub async fn add_addresses(&self, peer: PeerId, addrs: Vec<Multiaddr>) -> Result<(), NetError> {
        self.call(|reply| Command::AddAddresses { peer, addrs, reply })
            .await
    }

    /// Starts connecting to `peer` with its known addresses, unless already
    /// connected or dialing. Success means the dial started;
    /// [`NetEvent::Connected`] reports the connection.
    pub async fn dial(&self, peer: PeerId) -> Result<(), NetError> {
        self.call(|reply| Command::Dial { peer, reply }).await?
    }

    /// The addresses the node currently listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(|reply| Command::ListenAddrs { reply }).await
    }

    /// The peers with at least one open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.call(|reply| Command::ConnectedPeers { reply }).await
    }

    /// Subscribes to a gossipsub topic (1 to
    /// [`MAX_TOPIC_BYTES`](crate::limits::MAX_TOPIC_BYTES) bytes). Returns
    /// `false` if already subscribed.
    pub async fn subscribe(&self, topic: impl Into<String>) -> Result<bool, NetError> {
        let topic = topic.into();
        self.call(|reply| Command::Subscribe { topic, reply })
            .await?
    }

    /// Unsubscribes from a topic. Returns `false` if not subscribed.
    pub async fn unsubscribe(&self, topic: impl Into<String>) -> Result<bool, NetError> {
        let topic = topic.into();
        self.call(|reply| Command::Unsubscribe { topic, reply })
            .await
    }

    /// Publishes `data` (at most 65 536 bytes) to a topic. Fails with
    /// [`PublishError::NoPeers`] until a connected peer subscribed to it
    /// (see [`NetEvent::GroupPeerSubscribed`]).
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        data: Vec<u8>,
    ) -> Result<GroupMessageId, PublishError> {
        let topic = topic.into();
        self.call(|reply| Command::Publish { topic, data, reply })
            .await
            .map_err(|_| PublishError::Shutdown)?
    }

    /// Reports the engine's verdict on a [`NetEvent::GroupMessage`]: only
    /// accepted messages are forwarded. Call it once per message. Returns
    /// `false` if gossipsub no longer holds the message (it waited too long).
    pub async fn report_validation(
        &self,
        message_id: GroupMessageId,
        source: PeerId,
        acceptance: Acceptance,
    ) -> Result<bool, NetError> {
        self.call(|reply| Command::ReportValidation {
            message_id,
            source,
            acceptance,
            reply,
        })
        .await
    }

    /// The swarm task's counters.
    pub async fn stats(&self) -> Result<NetStats, NetError> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// Stops the swarm task, closing every connection and listener, and
    /// waits until it has. Requests still in flight fail with
    /// [`SendError::Shutdown`]. Calling it again is harmless.
    pub async fn shutdown(&self) -> Result<(), NetError> {
        match self.call(|reply| Command::Shutdown { reply }).await {
            Ok(()) | Err(NetError::Shutdown) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NetError::Shutdown)?;
        response.await.map_err(|_| NetError::Shutdown)
    }
}
