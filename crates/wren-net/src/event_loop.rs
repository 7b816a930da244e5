//! The swarm task: the only owner of the [`Swarm`].
//!
//! Message flow:
//!
//! ```text
//! Net handles ──Command (bounded mpsc, oneshot reply)──▶ EventLoop ──NetEvent (bounded, try_send)──▶ engine
//!                                                          │  ▲
//!                                                          ▼  │ SwarmEvent
//!                                                         Swarm
//! ```
//!
//! The loop waits on the next command, the next swarm event and the relay
//! retry timer. `select!` picks fairly between them, so a burst of commands cannot
//! starve the swarm nor a busy swarm the commands. It never awaits anything
//! else: replies go over oneshot channels and events
//! are sent with `try_send`, with the per-kind fallback described in
//! [`crate::event`]. Every map it keeps is bounded:
//!
//! - outbound requests waiting for responses ([`MAX_PENDING_OUTBOUND`]),
//!   keyed by request id, each holding the caller's oneshot;
//! - inbound requests waiting for the engine's answer
//!   ([`MAX_PENDING_INBOUND_REPLIES`]), keyed by the token handed to the
//!   engine, each holding the stream's response channel. An entry leaves
//!   when the engine answers, or when request-response reports the request
//!   failed (timeout, closed connection);
//! - mDNS discoveries ([`MAX_MDNS_PEERS`]) and the connected peers that
//!   identified as Wren nodes;
//! - the relays it keeps reservations with ([`MAX_RELAYS`](crate::limits::MAX_RELAYS), see
//!   [`crate::relays`]) and, per connected peer, how many of its
//!   connections are direct and relayed (the swarm's own connections, so
//!   bounded by them).
//!
//! Besides commands and swarm events, the loop wakes for one timer: the
//! earliest relay reservation due for a retry.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use libp2p::request_response::{
    self, InboundRequestId, OutboundFailure, OutboundRequestId, ResponseChannel,
};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, Swarm, dcutr, gossipsub, identify, mdns};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, trace};

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::bundle::{self, BundleResponse};
use crate::command::Command;
use crate::config::IDENTIFY_PROTOCOL_VERSION;
use crate::dm::{self, Ack, DirectResponse};
use crate::error::{NetError, PublishError, SendError};
use crate::event::{
    Acceptance, BundleReply, GroupMessageId, InboundReply, NetEvent, NetStats, Path,
};
use crate::limits::{
    MAX_ADDRESSES_PER_PEER, MAX_ENVELOPE_BYTES, MAX_MDNS_PEERS, MAX_PENDING_INBOUND_REPLIES,
    MAX_PENDING_OUTBOUND, MAX_TOPIC_BYTES,
};
use crate::mailbox::{self, MailboxRequest, MailboxResponse};
use crate::relays::{self, Added, Relays};

/// An outbound direct-message request waiting for its response.
struct PendingDirect {
    /// Envelopes sent: the response must acknowledge exactly as many.
    count: usize,
    reply: oneshot::Sender<Result<Vec<Ack>, SendError>>,
}

/// An outbound mailbox request waiting for its response, with what a
/// consistent response to it looks like.
struct PendingMailbox {
    expect: Expect,
    reply: oneshot::Sender<Result<MailboxResponse, SendError>>,
}

/// The response kinds that fit a mailbox request (a refusal fits any).
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// One outcome per deposited envelope.
    Deposited(usize),
    /// A page of at most this many items.
    Page(usize),
    Acked,
    Users,
    Done,
}

impl Expect {
    fn of(request: &MailboxRequest) -> Self {
        match request {
            MailboxRequest::Deposit { envelopes, .. } => Self::Deposited(envelopes.len()),
            MailboxRequest::Fetch { limit, .. } => Self::Page(usize::from(*limit)),
            MailboxRequest::Ack { .. } => Self::Acked,
            MailboxRequest::UsersList => Self::Users,
            MailboxRequest::UsersAdd { .. } | MailboxRequest::UsersRemove { .. } => Self::Done,
        }
    }

    /// Whether `response` answers the request; a relay that answers
    /// something else is treated as a protocol error.
    fn fits(self, response: &MailboxResponse) -> bool {
        match (self, response) {
            (_, MailboxResponse::Refused(_)) => true,
            (Self::Deposited(n), MailboxResponse::Deposited(outcomes)) => outcomes.len() == n,
            (Self::Page(limit), MailboxResponse::Page { items, .. }) => {
                items.len() <= limit
                    && items.windows(2).all(|w| match w {
                        [a, b] => a.seq < b.seq,
                        _ => true,
                    })
            }
            (Self::Acked, MailboxResponse::Acked { .. })
            | (Self::Users, MailboxResponse::Users(_))
            | (Self::Done, MailboxResponse::Done) => true,
            _ => false,
        }
    }
}

/// How many of a peer's open connections are direct and relayed.
#[derive(Debug, Clone, Copy, Default)]
struct Connections {
    direct: usize,
    relayed: usize,
}

impl Connections {
    fn path(self) -> Option<Path> {
        if self.direct > 0 {
            Some(Path::Direct)
        } else if self.relayed > 0 {
            Some(Path::Relayed)
        } else {
            None
        }
    }
}

/// An inbound direct-message request waiting for the engine.
struct InboundDirect {
    request_id: InboundRequestId,
    count: usize,
    channel: ResponseChannel<DirectResponse>,
}

/// An inbound bundle request waiting for the engine.
struct InboundBundle {
    request_id: InboundRequestId,
    channel: ResponseChannel<BundleResponse>,
}

/// A peer seen through mDNS.
struct MdnsPeer {
    addrs: Vec<Multiaddr>,
    /// Whether [`NetEvent::PeerDiscovered`] was delivered for it.
    announced: bool,
}

/// The swarm task's state.
pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    outbound_direct: HashMap<OutboundRequestId, PendingDirect>,
    outbound_bundle: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, SendError>>>,
    outbound_mailbox: HashMap<OutboundRequestId, PendingMailbox>,
    inbound_direct: HashMap<u64, InboundDirect>,
    inbound_bundle: HashMap<u64, InboundBundle>,
    next_token: u64,
    mdns_peers: HashMap<PeerId, MdnsPeer>,
    /// Connected peers whose identify protocol version is Wren's.
    wren_peers: HashSet<PeerId>,
    relays: Relays,
    connections: HashMap<PeerId, Connections>,
    stats: NetStats,
}

impl EventLoop {
    /// A loop over `swarm`, reading `commands` and reporting to `events`.
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetEvent>,
    ) -> Self {
        Self {
            swarm,
            commands,
            events,
            outbound_direct: HashMap::new(),
            outbound_bundle: HashMap::new(),
            outbound_mailbox: HashMap::new(),
            inbound_direct: HashMap::new(),
            inbound_bundle: HashMap::new(),
            next_token: 0,
            mdns_peers: HashMap::new(),
            wren_peers: HashSet::new(),
            relays: Relays::default(),
            connections: HashMap::new(),
            stats: NetStats::default(),
        }
    }

    /// Runs until [`Command::Shutdown`] or until every handle is dropped.
    /// Dropping the swarm closes every connection and listener; callers
    /// still waiting see [`SendError::Shutdown`].
    pub(crate) async fn run(mut self) {
        let shutdown_reply = loop {
            let retry_at = self.relays.next_retry();
            let retry = async move {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => break Some(reply),
                    Some(command) => self.on_command(command),
                    None => break None,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                () = retry => self.retry_relays(),
            }
        };
        debug!("network task stopping");
        drop(self);
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::SendDirect {
                peer,
                envelopes,
                reply,
            } => {
                if let Err(error) = dm::validate_request(&envelopes) {
                    let _ = reply.send(Err(SendError::Invalid(error)));
                } else if self.pending_outbound() >= MAX_PENDING_OUTBOUND {
                    let _ = reply.send(Err(SendError::TooManyPending));
                } else {
                    let count = envelopes.len();
                    let id = self.swarm.behaviour_mut().dm.send_request(&peer, envelopes);
                    self.outbound_direct
                        .insert(id, PendingDirect { count, reply });
                }
            }
            Command::RespondDirect {
                token,
                response,
                reply,
            } => {
                let _ = reply.send(self.respond_direct(token, response));
            }
            Command::FetchBundle { peer, reply } => {
                if self.pending_outbound() >= MAX_PENDING_OUTBOUND {
                    let _ = reply.send(Err(SendError::TooManyPending));
                } else {
                    let id = self.swarm.behaviour_mut().bundle.send_request(&peer, ());
                    self.outbound_bundle.insert(id, reply);
                }
            }
            Command::RespondBundle {
                token,
                response,
                reply,
            } => {
                let _ = reply.send(self.respond_bundle(token, response));
            }
            Command::Mailbox {
                relay,
                addrs,
                request,
                reply,
            } => {
                if let Err(error) = mailbox::validate_request(&request) {
                    let _ = reply.send(Err(SendError::Invalid(error)));
                } else if self.pending_outbound() >= MAX_PENDING_OUTBOUND {
                    let _ = reply.send(Err(SendError::TooManyPending));
                } else {
                    let expect = Expect::of(&request);
                    let addrs = addrs.into_iter().take(MAX_ADDRESSES_PER_PEER).collect();
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .mailbox
                        .send_request_with_addresses(&relay, request, addrs);
                    self.outbound_mailbox
                        .insert(id, PendingMailbox { expect, reply });
                }
            }
            Command::AddRelay { addr, reply } => {
                let _ = reply.send(self.add_relay(addr));
            }
            Command::RemoveRelay { relay, reply } => {
                let known = match self.relays.remove(&relay) {
                    Some(listener) => {
                        if let Some(listener) = listener {
                            self.swarm.remove_listener(listener);
                        }
                        true
                    }
                    None => false,
                };
                let _ = reply.send(known);
            }
            Command::Relays { reply } => {
                let _ = reply.send(self.relays.info(Instant::now()));
            }
            Command::PeerPath { peer, reply } => {
                let path = self.connections.get(&peer).and_then(|c| c.path());
                let _ = reply.send(path);
            }
            Command::ExternalAddrs { reply } => {
                let _ = reply.send(self.swarm.external_addresses().cloned().collect());
            }
            Command::AddAddresses { peer, addrs, reply } => {
                for addr in addrs.into_iter().take(MAX_ADDRESSES_PER_PEER) {
                    self.swarm.add_peer_address(peer, addr);
                }
                let _ = reply.send(());
            }
            Command::Dial { peer, reply } => {
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                let result = match self.swarm.dial(opts) {
                    Ok(()) | Err(libp2p::swarm::DialError::DialPeerConditionFalse(_)) => Ok(()),
                    Err(error) => Err(NetError::Dial(error.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::ConnectedPeers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Subscribe { topic, reply } => {
                let result = if topic.is_empty() || topic.len() > MAX_TOPIC_BYTES {
                    Err(NetError::InvalidArgument("topic must be 1 to 256 bytes"))
                } else {
                    let topic = gossipsub::IdentTopic::new(topic);
                    let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                    // Scoring is on from the start, so this cannot fail.
                    let _ = gossipsub
                        .set_topic_params(topic.clone(), crate::behaviour::topic_score_params());
                    gossipsub
                        .subscribe(&topic)
                        .map_err(|e| NetError::Subscription(e.to_string()))
                };
                let _ = reply.send(result);
            }
            Command::Unsubscribe { topic, reply } => {
                let removed = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .unsubscribe(&gossipsub::IdentTopic::new(topic));
                let _ = reply.send(removed);
            }
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::ReportValidation {
                message_id,
                source,
                acceptance,
                reply,
            } => {
                let known = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(
                        &gossipsub::MessageId::new(&message_id.0),
                        &source,
                        to_gossipsub(acceptance),
                    );
                let _ = reply.send(known);
            }
            Command::Stats { reply } => {
                let mut stats = self.stats;
                stats.pending_inbound = self.inbound_direct.len() + self.inbound_bundle.len();
                stats.pending_outbound = self.pending_outbound();
                let _ = reply.send(stats);
            }
            // Handled by `run`.
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// Adds a relay and starts reserving a slot on it. Never fails because
    /// the relay is unreachable: that only puts it in backoff.
    fn add_relay(&mut self, addr: Multiaddr) -> Result<PeerId, NetError> {
        let (peer, bare) = relays::split_relay_addr(&addr)?;
        if peer == *self.swarm.local_peer_id() {
            return Err(NetError::InvalidArgument("a node cannot be its own relay"));
        }
        let added = self.relays.add(peer, addr)?;
        self.swarm.add_peer_address(peer, bare);
        if added == Added::New {
            self.reserve(peer);
        }
        Ok(peer)
    }

    /// Starts a reservation attempt on `relay`: a listener on its circuit
    /// address. The relay client dials the relay if needed.
    fn reserve(&mut self, relay: PeerId) {
        let Some(addr) = self.relays.circuit_listen_addr(&relay) else {
            return;
        };
        match self.swarm.listen_on(addr) {
            Ok(listener) => self.relays.listening(&relay, listener),
            Err(error) => {
                let reason = self
                    .relays
                    .failed(&relay, error.to_string(), Instant::now());
                self.emit_info(NetEvent::RelayLost { relay, reason });
            }
        }
    }

    /// Retries every relay whose backoff has elapsed.
    fn retry_relays(&mut self) {
        for relay in self.relays.due(Instant::now()) {
            debug!(%relay, "retrying the relay reservation");
            self.reserve(relay);
        }
    }

    fn respond_direct(
        &mut self,
        token: InboundReply,
        response: DirectResponse,
    ) -> Result<(), NetError> {
        let pending = self
            .inbound_direct
            .remove(&token.0)
            .ok_or(NetError::ReplyGone)?;
        let (response, result) = match response {
            DirectResponse::Acks(acks) if acks.len() != pending.count => {
                // A bug in the engine; the sender keeps its envelopes.
                let error = NetError::AckCountMismatch {
                    expected: pending.count,
                    got: acks.len(),
                };
                (DirectResponse::Busy, Err(error))
            }
            response => (response, Ok(())),
        };
        self.swarm
            .behaviour_mut()
            .dm
            .send_response(pending.channel, response)
            .map_err(|_| NetError::ReplyGone)?;
        result
    }

    fn respond_bundle(
        &mut self,
        token: BundleReply,
        response: BundleResponse,
    ) -> Result<(), NetError> {
        let pending = self
            .inbound_bundle
            .remove(&token.0)
            .ok_or(NetError::ReplyGone)?;
        let (response, result) = match response {
            BundleResponse::Bundle(b) if bundle::validate_bundle(&b).is_err() => (
                BundleResponse::Busy,
                Err(NetError::InvalidArgument(
                    "a bundle must be 1 to 4096 bytes",
                )),
            ),
            response => (response, Ok(())),
        };
        self.swarm
            .behaviour_mut()
            .bundle
            .send_response(pending.channel, response)
            .map_err(|_| NetError::ReplyGone)?;
        result
    }

    fn publish(&mut self, topic: String, data: Vec<u8>) -> Result<GroupMessageId, PublishError> {
        if topic.is_empty() || topic.len() > MAX_TOPIC_BYTES || data.len() > MAX_ENVELOPE_BYTES {
            return Err(PublishError::TooLarge);
        }
        let id = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(gossipsub::IdentTopic::new(topic), data)
            .map_err(|error| match error {
                gossipsub::PublishError::Duplicate => PublishError::Duplicate,
                gossipsub::PublishError::NoPeersSubscribedToTopic => PublishError::NoPeers,
                gossipsub::PublishError::MessageTooLarge => PublishError::TooLarge,
                gossipsub::PublishError::AllQueuesFull(_) => PublishError::QueuesFull,
                other => PublishError::Failed(other.to_string()),
            })?;
        group_id(&id).ok_or_else(|| PublishError::Failed("unexpected message id".to_owned()))
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Dm(event)) => self.on_dm_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Bundle(event)) => self.on_bundle_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => {
                self.on_gossipsub_event(event)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => self.on_identify_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(event)) => self.on_mdns_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(event)) => {
                debug!(addr = %event.tested_addr, ok = event.result.is_ok(), "autonat probe");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mailbox(event)) => self.on_mailbox_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => {
                debug!(?event, "relay client");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(event)) => self.on_dcutr_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(_)) => {}
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                if num_established.get() == 1 {
                    self.emit_info(NetEvent::Connected { peer: peer_id });
                    if self.relays.contains(&peer_id) {
                        self.relays.connected(&peer_id, Instant::now());
                        self.emit_info(NetEvent::RelayConnected { relay: peer_id });
                    }
                }
                self.count_connection(peer_id, endpoint.is_relayed(), true);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                self.count_connection(peer_id, endpoint.is_relayed(), false);
                if num_established == 0 {
                    self.wren_peers.remove(&peer_id);
                    self.emit_info(NetEvent::Disconnected { peer: peer_id });
                }
            }
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                if let Some((relay, addrs)) = self.relays.reserved(listener_id, address.clone()) {
                    debug!(%relay, %address, "relay reservation accepted");
                    self.emit_info(NetEvent::RelayReserved { relay, addrs });
                }
                self.emit_info(NetEvent::Listening { addr: address });
            }
            SwarmEvent::ExpiredListenAddr {
                listener_id,
                address,
            } => {
                self.relays.addr_expired(listener_id, &address);
                self.emit_info(NetEvent::ListenAddrExpired { addr: address });
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(relay) = self.relays.by_listener(listener_id) {
                    let reason = match reason {
                        Ok(()) => "the reservation ended".to_owned(),
                        Err(error) => error.to_string(),
                    };
                    let reason = self.relays.failed(&relay, reason, Instant::now());
                    debug!(%relay, %reason, "relay reservation lost");
                    self.emit_info(NetEvent::RelayLost { relay, reason });
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                self.emit_info(NetEvent::ExternalAddrConfirmed { addr: address });
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(?peer_id, %error, "outgoing connection failed");
                if let Some(peer) = peer_id {
                    self.relays.dial_failed(&peer, error.to_string());
                }
            }
            other => trace!(?other, "swarm event"),
        }
    }

    fn on_dm_event(&mut self, event: request_response::Event<Vec<Vec<u8>>, DirectResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request_id,
                    request,
                    channel,
                } => self.on_direct_request(peer, request_id, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(pending) = self.outbound_direct.remove(&request_id) {
                        let result = match response {
                            DirectResponse::Busy => Err(SendError::Busy),
                            DirectResponse::Acks(acks) if acks.len() == pending.count => Ok(acks),
                            DirectResponse::Acks(acks) => Err(SendError::Protocol(format!(
                                "{} acknowledgements for {} envelopes",
                                acks.len(),
                                pending.count
                            ))),
                        };
                        let _ = pending.reply.send(result);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.outbound_direct.remove(&request_id) {
                    let _ = pending.reply.send(Err(send_error(error)));
                }
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, %error, "inbound direct request failed");
                self.inbound_direct
                    .retain(|_, pending| pending.request_id != request_id);
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_direct_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        envelopes: Vec<Vec<u8>>,
        channel: ResponseChannel<DirectResponse>,
    ) {
        if !self.has_inbound_room() {
            self.direct_busy(channel);
            return;
        }
        let token = self.next_token();
        let count = envelopes.len();
        let event = NetEvent::DirectRequest {
            peer,
            envelopes,
            reply: InboundReply(token),
        };
        if self.events.try_send(event).is_ok() {
            self.inbound_direct.insert(
                token,
                InboundDirect {
                    request_id,
                    count,
                    channel,
                },
            );
        } else {
            debug!(%peer, "event channel full; direct request answered busy");
            self.direct_busy(channel);
        }
    }

    fn direct_busy(&mut self, channel: ResponseChannel<DirectResponse>) {
        self.stats.busy_replies += 1;
        let _ = self
            .swarm
            .behaviour_mut()
            .dm
            .send_response(channel, DirectResponse::Busy);
    }

    fn on_mailbox_event(
        &mut self,
        event: request_response::Event<MailboxRequest, MailboxResponse>,
    ) {
        match event {
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(pending) = self.outbound_mailbox.remove(&request_id) {
                    let result = if pending.expect.fits(&response) {
                        Ok(response)
                    } else {
                        Err(SendError::Protocol(format!(
                            "the relay's answer does not fit the request ({:?})",
                            pending.expect
                        )))
                    };
                    let _ = pending.reply.send(result);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.outbound_mailbox.remove(&request_id) {
                    let _ = pending.reply.send(Err(send_error(error)));
                }
            }
            // Outbound only: no inbound request reaches this behaviour.
            request_response::Event::Message { .. }
            | request_response::Event::InboundFailure { .. }
            | request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_dcutr_event(&mut self, event: dcutr::Event) {
        let dcutr::Event {
            remote_peer_id,
            result,
        } = event;
        debug!(peer = %remote_peer_id, ok = result.is_ok(), "hole punch");
        self.emit_info(NetEvent::HolePunch {
            peer: remote_peer_id,
            succeeded: result.is_ok(),
            error: result.err().map(|error| error.to_string()),
        });
    }

    /// Counts a connection that opened (`up`) or closed, and reports the
    /// peer's path when it changed while connected.
    fn count_connection(&mut self, peer: PeerId, relayed: bool, up: bool) {
        let entry = self.connections.entry(peer).or_default();
        let before = entry.path();
        let count = if relayed {
            &mut entry.relayed
        } else {
            &mut entry.direct
        };
        *count = if up {
            count.saturating_add(1)
        } else {
            count.saturating_sub(1)
        };
        let after = entry.path();
        if after.is_none() {
            self.connections.remove(&peer);
        }
        if let Some(path) = after
            && before != after
        {
            self.emit_info(NetEvent::PeerPath { peer, path });
        }
    }

    fn on_bundle_event(&mut self, event: request_response::Event<(), BundleResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request_id,
                    channel,
                    ..
                } => self.on_bundle_request(peer, request_id, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.outbound_bundle.remove(&request_id) {
                        let result = match response {
                            BundleResponse::Bundle(bundle) => Ok(bundle),
                            BundleResponse::Busy => Err(SendError::Busy),
                        };
                        let _ = reply.send(result);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.outbound_bundle.remove(&request_id) {
                    let _ = reply.send(Err(send_error(error)));
                }
            }
            request_response::Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, %error, "inbound bundle request failed");
                self.inbound_bundle
                    .retain(|_, pending| pending.request_id != request_id);
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_bundle_request(
        &mut self,
        peer: PeerId,
        request_id: InboundRequestId,
        channel: ResponseChannel<BundleResponse>,
    ) {
        if !self.has_inbound_room() {
            self.bundle_busy(channel);
            return;
        }
        let token = self.next_token();
        let event = NetEvent::BundleRequest {
            peer,
            reply: BundleReply(token),
        };
        if self.events.try_send(event).is_ok() {
            self.inbound_bundle.insert(
                token,
                InboundBundle {
                    request_id,
                    channel,
                },
            );
        } else {
            debug!(%peer, "event channel full; bundle request answered busy");
            self.bundle_busy(channel);
        }
    }

    fn bundle_busy(&mut self, channel: ResponseChannel<BundleResponse>) {
        self.stats.busy_replies += 1;
        let _ = self
            .swarm
            .behaviour_mut()
            .bundle
            .send_response(channel, BundleResponse::Busy);
    }

    fn on_gossipsub_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let Some(id) = group_id(&message_id) else {
                    self.ignore_group_message(&message_id, &propagation_source);
                    return;
                };
                let event = NetEvent::GroupMessage {
                    propagation_source,
                    message_id: id,
                    author: message.source,
                    topic: message.topic.into_string(),
                    data: message.data,
                };
                if self.events.try_send(event).is_err() {
                    debug!("event channel full; group message ignored");
                    self.stats.ignored_group_messages += 1;
                    self.ignore_group_message(&message_id, &propagation_source);
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic, .. } => {
                self.emit_info(NetEvent::GroupPeerSubscribed {
                    peer: peer_id,
                    topic: topic.into_string(),
                });
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                self.emit_info(NetEvent::GroupPeerUnsubscribed {
                    peer: peer_id,
                    topic: topic.into_string(),
                });
            }
            other => debug!(?other, "gossipsub"),
        }
    }

    fn ignore_group_message(&mut self, id: &gossipsub::MessageId, source: &PeerId) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, gossipsub::MessageAcceptance::Ignore);
    }

    fn on_identify_event(&mut self, event: identify::Event) {
        if let identify::Event::Received { peer_id, info, .. } = event {
            if info.protocol_version == IDENTIFY_PROTOCOL_VERSION {
                self.wren_peers.insert(peer_id);
                self.announce(peer_id);
            } else {
                debug!(%peer_id, protocol = %info.protocol_version, "peer is not a Wren node");
            }
        }
    }

    fn on_mdns_event(&mut self, event: mdns::Event) {
        match event {
            mdns::Event::Discovered(found) => {
                let local = *self.swarm.local_peer_id();
                let mut touched = Vec::new();
                for (peer, addr) in found {
                    if peer == local {
                        continue;
                    }
                    if !self.mdns_peers.contains_key(&peer)
                        && self.mdns_peers.len() >= MAX_MDNS_PEERS
                    {
                        trace!(%peer, "too many mDNS peers; ignored");
                        continue;
                    }
                    let entry = self.mdns_peers.entry(peer).or_insert_with(|| MdnsPeer {
                        addrs: Vec::new(),
                        announced: false,
                    });
                    if !entry.addrs.contains(&addr) && entry.addrs.len() < MAX_ADDRESSES_PER_PEER {
                        entry.addrs.push(addr);
                    }
                    if !touched.contains(&peer) {
                        touched.push(peer);
                    }
                }
                for peer in touched {
                    self.on_mdns_peer(peer);
                }
            }
            mdns::Event::Expired(gone) => {
                for (peer, addr) in gone {
                    let Some(entry) = self.mdns_peers.get_mut(&peer) else {
                        continue;
                    };
                    entry.addrs.retain(|a| *a != addr);
                    if entry.addrs.is_empty() {
                        let announced = entry.announced;
                        self.mdns_peers.remove(&peer);
                        if announced {
                            self.emit_info(NetEvent::PeerExpired { peer });
                        }
                    }
                }
            }
        }
    }

    /// A peer seen through mDNS: report it if it is known to be a Wren node,
    /// otherwise connect so that identify tells.
    fn on_mdns_peer(&mut self, peer: PeerId) {
        if self.wren_peers.contains(&peer) {
            self.announce(peer);
            return;
        }
        let Some(entry) = self.mdns_peers.get(&peer) else {
            return;
        };
        if entry.announced || self.swarm.is_connected(&peer) {
            // Announced already, or identify is on its way.
            return;
        }
        let opts = DialOpts::peer_id(peer)
            .addresses(entry.addrs.clone())
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(error) = self.swarm.dial(opts) {
            debug!(%peer, %error, "cannot dial mDNS peer");
        }
    }

    /// Reports a Wren node found through mDNS, once.
    fn announce(&mut self, peer: PeerId) {
        let Some(entry) = self.mdns_peers.get(&peer) else {
            return;
        };
        if entry.announced {
            return;
        }
        let event = NetEvent::PeerDiscovered {
            peer,
            addrs: entry.addrs.clone(),
        };
        if self.emit_info(event)
            && let Some(entry) = self.mdns_peers.get_mut(&peer)
        {
            entry.announced = true;
        }
    }

    /// Sends an informational event, or drops and counts it. Returns whether
    /// it was sent.
    fn emit_info(&mut self, event: NetEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(error) => {
                self.stats.dropped_events += 1;
                debug!(event = ?error.into_inner(), "event channel full or closed; event dropped");
                false
            }
        }
    }

    fn has_inbound_room(&mut self) -> bool {
        if self.inbound_direct.len() + self.inbound_bundle.len() < MAX_PENDING_INBOUND_REPLIES {
            return true;
        }
        // Forget requests whose stream already gave up waiting.
        self.inbound_direct.retain(|_, p| p.channel.is_open());
        self.inbound_bundle.retain(|_, p| p.channel.is_open());
        self.inbound_direct.len() + self.inbound_bundle.len() < MAX_PENDING_INBOUND_REPLIES
    }

    fn pending_outbound(&self) -> usize {
        self.outbound_direct.len() + self.outbound_bundle.len() + self.outbound_mailbox.len()
    }

    fn next_token(&mut self) -> u64 {
        self.next_token = self.next_token.wrapping_add(1);
        self.next_token
    }
}

/// Why an outbound request failed, for the caller.
fn send_error(failure: OutboundFailure) -> SendError {
    match failure {
        OutboundFailure::DialFailure => SendError::DialFailure,
        OutboundFailure::Timeout => SendError::Timeout,
        OutboundFailure::ConnectionClosed => SendError::ConnectionClosed,
        OutboundFailure::UnsupportedProtocols => SendError::UnsupportedProtocol,
        OutboundFailure::Io(error) => SendError::Protocol(error.to_string()),
    }
}

fn to_gossipsub(acceptance: Acceptance) -> gossipsub::MessageAcceptance {
    match acceptance {
        Acceptance::Accept => gossipsub::MessageAcceptance::Accept,
        Acceptance::Reject => gossipsub::MessageAcceptance::Reject,
        Acceptance::Ignore => gossipsub::MessageAcceptance::Ignore,
    }
}

/// Our message ids are SHA-256 digests; anything else is not ours.
fn group_id(id: &gossipsub::MessageId) -> Option<GroupMessageId> {
    <[u8; 32]>::try_from(id.0.as_slice())
        .ok()
        .map(GroupMessageId)
}
