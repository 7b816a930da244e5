//! The engine task: the one owner of the node's mutable state.
//!
//! ```text
//! Node handles ──Command (bounded mpsc, oneshot reply)──▶ Engine ──NodeEvent (bounded, try_send)──▶ front end
//!                                                          │  ▲
//!                             Net commands (send, respond) ▼  │ NetEvent (bounded) + send completions
//!                                                        wren-net
//! ```

mod acked;
mod contacts;
mod groups;
mod inbound;
mod intro;
mod messages;
mod meta;
mod outbox;
mod receive;
mod relays;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, warn};
use wren_crypto::{
    IdentityKey, IdentityKeyPair, OneTimePrekeyPair, PeerId, PrekeyBundle, SessionBook,
    SignedPrekeys,
};
use wren_net::{Ack, BundleReply, Multiaddr, Net, NetConfig, NetEvent, SendError};
use wren_proto::{DisplayName, Payload, Versioned};
use wren_store::{Contact, DATABASE_FILE_NAME, MessageStatus, Order, Store, StoreError, Unlock};

use self::meta::{ContactMeta, OtkPool, StoredState};
use self::outbox::{MessageRef, OutEntry, Outbox};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::limits::{
    COMMAND_CHANNEL_CAPACITY, EVENT_CHANNEL_CAPACITY, NET_EVENT_CAPACITY,
    ONE_TIME_PREKEY_LOW_WATER, ONE_TIME_PREKEY_POOL,
};
use crate::types::{
    ContactInfo, ContactPreview, ConversationInfo, GroupInfo, Identity, MessageInfo, NearbyPeer,
    RelayInfo, RequestInfo, SentMessage,
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
    Preview {
        target: String,
        reply: Reply<ContactPreview>,
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
    AddRelay {
        relay: String,
        reply: Reply<RelayInfo>,
    },
    RemoveRelay {
        relay: String,
        reply: Reply<bool>,
    },
    Relays {
        reply: Reply<Vec<RelayInfo>>,
    },
    SetName {
        name: String,
        reply: Reply<Identity>,
    },
    RelayUsers {
        relay: String,
        /// `None`: list; `Some((true, user))`: add; `Some((false, user))`: remove.
        change: Option<(bool, String)>,
        reply: Reply<Vec<String>>,
    },
    CreateGroup {
        name: String,
        members: Vec<String>,
        channel: bool,
        reply: Reply<GroupInfo>,
    },
    Groups {
        reply: Reply<Vec<GroupInfo>>,
    },
    Membership {
        group: String,
        change: MembershipCommand,
        reply: Reply<GroupInfo>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}

/// A membership change asked for by the user.
pub(crate) enum MembershipCommand {
    Add(String),
    Remove(String),
    Promote(String),
    /// The group's new name.
    Rename(String),
    Leave,
}

/// What [`start`] hands to [`Node::open`](crate::Node::open).
pub(crate) struct Started {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) events: mpsc::Receiver<NodeEvent>,
    pub(crate) identity: Identity,
    pub(crate) dropped: Arc<AtomicU64>,
}

/// Most contacts dialled when the node starts (so that they learn where we
/// are and flush their outboxes to us).
const MAX_STARTUP_DIALS: usize = 256;

/// Most hole-punch outcomes kept for peers that are not contacts yet.
const MAX_REMEMBERED_HOLE_PUNCHES: usize = 64;

/// Capacity of the channel from the engine's helper tasks (sends, bundle
/// fetches) back to it.
const INTERNAL_CHANNEL_CAPACITY: usize = 256;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The identity summary of a key pair.
fn identity_of(me: &IdentityKeyPair, name: &str) -> Identity {
    Identity {
        peer_id: me.public().peer_id().to_string(),
        name: name.to_owned(),
        fingerprint: me.public().fingerprint().to_string(),
    }
}

/// A display name checked like the one in a pairing code (1 to 64 bytes,
/// no control characters).
fn display_name(name: &str) -> Result<String, NodeError> {
    Ok(DisplayName::new(name)
        .map_err(|_| {
            NodeError::InvalidArgument("display name (1 to 64 bytes, no control characters)")
        })?
        .as_str()
        .to_owned())
}

/// Creates a store with a new identity.
pub(crate) async fn init(home: &Path, name: &str, unlock: Unlock) -> Result<Identity, NodeError> {
    let name = display_name(name)?;
    let store = Store::open(home, unlock).await?;
    let result = init_store(&store, name).await;
    store.close().await?;
    result
}

async fn init_store(store: &Store, name: String) -> Result<Identity, NodeError> {
    if store.read(|tx| tx.identity()).await?.is_some() {
        return Err(NodeError::AlreadyInitialised);
    }
    let me = IdentityKeyPair::generate(&mut rand::rng());
    let identity = identity_of(&me, &name);
    store
        .write(move |tx| {
            let mut rng = rand::rng();
            let prekeys = SignedPrekeys::new(&me, now_ms() / 1_000, &mut rng);
            tx.set_identity(&me, &name)?;
            tx.set_signed_prekeys(&prekeys)?;
            let pool = OtkPool {
                next_handout: 1,
                next_id: 1,
            };
            let pool = refill(tx, pool, &mut rng)?;
            meta::write_otk_pool(tx, &pool)?;
            Ok(())
        })
        .await?;
    Ok(identity)
}

/// Generates [`ONE_TIME_PREKEY_POOL`] one-time prekeys after the pool's
/// last id.
fn refill(
    tx: &mut wren_store::WriteTx<'_>,
    mut pool: OtkPool,
    rng: &mut rand::rngs::ThreadRng,
) -> Result<OtkPool, StoreError> {
    for _ in 0..ONE_TIME_PREKEY_POOL {
        let id = pool.next_id;
        if id == u32::MAX {
            break;
        }
        tx.put_one_time_prekey(id, &OneTimePrekeyPair::generate(id, rng))?;
        pool.next_id = id + 1;
    }
    Ok(pool)
}

/// What the engine knows about a contact.
#[derive(Debug, Clone)]
pub(crate) struct ContactEntry {
    pub(crate) key: IdentityKey,
    pub(crate) peer: PeerId,
    pub(crate) contact: Contact,
    pub(crate) meta: ContactMeta,
}

/// A contact request waiting for the user.
#[derive(Debug, Clone)]
pub(crate) struct PendingRequest {
    pub(crate) key: IdentityKey,
    pub(crate) name: String,
    pub(crate) greeting: Option<String>,
    pub(crate) received_at: u64,
}

/// Everything loaded from the store when the node opens.
struct Loaded {
    me: IdentityKeyPair,
    name: String,
    prekeys: SignedPrekeys,
    prekeys_changed: bool,
    otk: OtkPool,
    contacts: Vec<(IdentityKey, Contact, ContactMeta)>,
    requests: Vec<PendingRequest>,
    outbox: Vec<(u64, [u8; 32], OutEntry, bool)>,
    /// Unreadable entries, and given-up ones without a message: removed.
    stale_outbox: Vec<u64>,
    /// Our relays.
    relays: Vec<Multiaddr>,
    /// Our groups.
    groups: groups::GroupMap,
    /// Our group peers.
    group_peers: intro::GroupPeers,
}

fn load(tx: &wren_store::ReadTx<'_>) -> Result<Option<Loaded>, StoreError> {
    let Some((me, name)) = tx.identity()? else {
        return Ok(None);
    };
    let now_secs = now_ms() / 1_000;
    let (prekeys, prekeys_changed) = match tx.signed_prekeys()? {
        Some(mut prekeys) => {
            let rotate = prekeys.needs_rotation(now_secs);
            if rotate {
                prekeys.rotate(&me, now_secs, &mut rand::rng());
            }
            (prekeys, rotate)
        }
        None => (SignedPrekeys::new(&me, now_secs, &mut rand::rng()), true),
    };
    let otk = meta::read_otk_pool(tx)?.unwrap_or(OtkPool {
        next_handout: 1,
        next_id: 1,
    });
    let mut contacts = Vec::new();
    for (key, contact) in tx.contacts()? {
        let contact = contact?;
        let Ok(identity) = IdentityKey::from_bytes(&key) else {
            continue;
        };
        let meta = meta::read_contact_meta(tx, &key)?.unwrap_or(ContactMeta {
            name: String::new(),
            state: StoredState::Added,
        });
        contacts.push((identity, contact, meta));
    }
    let mut requests = Vec::new();
    for (key, stored) in tx.contact_requests()? {
        let stored = stored?;
        let Ok(identity) = IdentityKey::from_bytes(&key) else {
            continue;
        };
        if let Some(request) = contacts::parse_request(&stored.payload, &identity) {
            requests.push(PendingRequest {
                key: identity,
                name: request.1.display_name().to_owned(),
                greeting: request.0.greeting.clone(),
                received_at: stored.received_at,
            });
        }
    }
    // Oldest first (the store lists them by key).
    requests.sort_by_key(|r| r.received_at);
    let mut outbox = Vec::new();
    let mut stale_outbox = Vec::new();
    for (id, item) in tx.outbox_due(u64::MAX, usize::MAX)? {
        let Ok(item) = item else {
            stale_outbox.push(id);
            continue;
        };
        let mut message = None;
        let mut failed = item.next_retry_ms == u64::MAX;
        if item.seq > 0
            && let Some(Ok(stored)) = tx
                .messages(item.conversation, Some(item.seq - 1), Order::OldestFirst, 1)?
                .into_iter()
                .next()
            && stored.seq == item.seq
        {
            failed |= matches!(stored.status, MessageStatus::Failed(_));
            message = Some(MessageRef {
                id: stored.id,
                conversation: item.conversation,
                visible: matches!(Payload::from_bytes(&stored.content), Ok(Payload::Text(_))),
            });
        }
        if failed && message.is_none() {
            // A request or receipt that was given up: nothing can retry it.
            stale_outbox.push(id);
            continue;
        }
        outbox.push((
            id,
            item.recipient,
            OutEntry {
                envelope: item.envelope,
                message,
                attempts: item.attempts,
            },
            failed,
        ));
    }
    let relays = relays::load_relays(tx.setting("relays")?);
    let groups = groups::load_groups(tx)?;
    let mut group_peers = intro::GroupPeers::new();
    for (key, record) in tx.group_peers()? {
        let (Ok(record), Ok(identity)) = (record, IdentityKey::from_bytes(&key)) else {
            continue;
        };
        group_peers.insert(
            key,
            intro::GroupPeerEntry {
                peer: identity.peer_id(),
                record,
            },
        );
    }
    Ok(Some(Loaded {
        groups,
        group_peers,
        relays,
        me,
        name,
        prekeys,
        prekeys_changed,
        otk,
        contacts,
        requests,
        outbox,
        stale_outbox,
    }))
}

/// Opens the store and the network and spawns the engine task.
pub(crate) async fn start(config: NodeConfig) -> Result<Started, NodeError> {
    if !config.home.join(DATABASE_FILE_NAME).exists() {
        return Err(NodeError::NotInitialised);
    }
    let store = Store::open(&config.home, config.unlock).await?;
    let loaded = match store.read(load).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            store.close().await?;
            return Err(NodeError::NotInitialised);
        }
        Err(error) => {
            let _ = store.close().await;
            return Err(error.into());
        }
    };
    match open_with(
        store.clone(),
        loaded,
        config.listen,
        config.mdns,
        config.group_receipt_wait,
    )
    .await
    {
        Ok(started) => Ok(started),
        Err(error) => {
            let _ = store.close().await;
            Err(error)
        }
    }
}

async fn open_with(
    store: Store,
    loaded: Loaded,
    listen: Vec<Multiaddr>,
    mdns: bool,
    receipt_wait: Duration,
) -> Result<Started, NodeError> {
    let Loaded {
        me,
        name,
        prekeys,
        prekeys_changed,
        otk,
        contacts,
        requests,
        outbox: outbox_items,
        stale_outbox,
        relays,
        groups,
        group_peers,
    } = loaded;
    let me = Arc::new(me);
    let prekeys = Arc::new(prekeys);
    if prekeys_changed || !stale_outbox.is_empty() {
        let bytes = prekeys.to_bytes();
        store
            .write(move |tx| {
                if prekeys_changed {
                    let prekeys =
                        SignedPrekeys::from_bytes(&bytes).map_err(|_| StoreError::Corrupt {
                            table: "signed_prekeys",
                            corruption: wren_store::Corruption::KeyMaterial,
                        })?;
                    tx.set_signed_prekeys(&prekeys)?;
                }
                for id in stale_outbox {
                    tx.outbox_remove(id)?;
                }
                Ok(())
            })
            .await?;
    }
    let mut net_config = NetConfig::new(me.to_libp2p_keypair());
    net_config.listen = listen;
    net_config.mdns = mdns;
    net_config.event_capacity = NET_EVENT_CAPACITY;
    let (net, net_events) = wren_net::spawn(net_config)?;

    let identity = identity_of(&me, &name);
    let mut outbox = Outbox::default();
    for (id, recipient, entry, failed) in outbox_items {
        if failed {
            outbox.park(recipient, id, entry);
        } else {
            outbox.push(recipient, id, entry);
        }
    }
    let contacts: HashMap<[u8; 32], ContactEntry> = contacts
        .into_iter()
        .map(|(key, contact, meta)| {
            (
                key.to_bytes(),
                ContactEntry {
                    key,
                    peer: key.peer_id(),
                    contact,
                    meta,
                },
            )
        })
        .collect();
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let (internal_tx, internal_rx) = mpsc::channel(INTERNAL_CHANNEL_CAPACITY);
    let dropped = Arc::new(AtomicU64::new(0));
    let engine = Engine {
        store,
        net,
        my_key: me.public().to_bytes(),
        me,
        name,
        prekeys,
        otk,
        contacts,
        requests,
        books: HashMap::new(),
        outbox,
        read_early: HashSet::new(),
        acked: acked::Acked::default(),
        relays,
        relays_up: HashSet::new(),
        fetching: HashSet::new(),
        paths: HashMap::new(),
        hole_punches: HashMap::new(),
        next_poll: Instant::now() + relays::MAILBOX_POLL,
        addressed: HashSet::new(),
        connected: HashSet::new(),
        nearby: HashMap::new(),
        events: event_tx,
        dropped: Arc::clone(&dropped),
        internal_tx,
        internal_rx,
        net_events,
        commands: command_rx,
        groups,
        group_peers,
        topics: groups::Topics::default(),
        receipt_wait,
    };
    tokio::spawn(engine.run());
    Ok(Started {
        commands: command_tx,
        events: event_rx,
        identity,
        dropped,
    })
}

/// A result from one of the engine's helper tasks.
pub(crate) enum Internal {
    /// A batch send finished.
    Sent {
        recipient: [u8; 32],
        ids: Vec<u64>,
        result: Result<Vec<Ack>, SendError>,
    },
    /// A page of our mailbox on a relay (or the failure to get one).
    Fetched {
        relay: PeerId,
        result: Result<wren_net::mailbox::MailboxResponse, SendError>,
    },
    /// A deposit in a contact's mailbox finished.
    Deposited {
        recipient: [u8; 32],
        ids: Vec<u64>,
        result: relays::DepositResult,
    },
    /// A group publication finished.
    Published {
        group: [u8; 32],
        message: [u8; 16],
        result: Result<wren_net::GroupMessageId, wren_net::PublishError>,
    },
    /// A bundle fetch for `add_contact` by peer id finished.
    Bundle {
        peer: PeerId,
        alias: Option<String>,
        result: Result<Vec<u8>, SendError>,
        reply: Reply<ContactInfo>,
    },
}

/// The engine: owns every piece of mutable state.
pub(crate) struct Engine {
    /// How long a published group text waits for members' receipts
    /// before pairwise copies go to those that did not confirm it.
    pub(crate) receipt_wait: Duration,
    pub(crate) store: Store,
    pub(crate) net: Net,
    pub(crate) me: Arc<IdentityKeyPair>,
    pub(crate) my_key: [u8; 32],
    pub(crate) name: String,
    pub(crate) prekeys: Arc<SignedPrekeys>,
    pub(crate) otk: OtkPool,
    pub(crate) contacts: HashMap<[u8; 32], ContactEntry>,
    /// Oldest first.
    pub(crate) requests: Vec<PendingRequest>,
    /// Session books cached after use; always equal to the stored ones.
    pub(crate) books: HashMap<[u8; 32], SessionBook>,
    pub(crate) outbox: Outbox,
    /// Outgoing messages whose read receipt came before their delivery
    /// acknowledgement was processed (so "delivered" must not follow "read").
    pub(crate) read_early: HashSet<[u8; 16]>,
    /// Acknowledged sends whose outbox removal and status are not stored yet.
    pub(crate) acked: acked::Acked,
    /// Our relays (addresses ending in `/p2p/RELAY`), as stored.
    pub(crate) relays: Vec<Multiaddr>,
    /// Those of our relays holding a reservation for us now.
    pub(crate) relays_up: relays::RelaysUp,
    /// Relays whose mailbox is being drained.
    pub(crate) fetching: HashSet<PeerId>,
    /// How each connected peer is reached.
    pub(crate) paths: HashMap<PeerId, wren_net::Path>,
    /// Hole-punch outcomes with connected peers that are not contacts yet
    /// (reported if they become contacts; at most
    /// [`MAX_REMEMBERED_HOLE_PUNCHES`]).
    pub(crate) hole_punches: HashMap<PeerId, (bool, Option<String>)>,
    /// When the mailboxes on reserved relays are fetched next.
    pub(crate) next_poll: Instant,
    /// Recipients whose stored addresses were given to the network since
    /// their last failed attempt.
    pub(crate) addressed: HashSet<[u8; 32]>,
    pub(crate) connected: HashSet<PeerId>,
    pub(crate) nearby: HashMap<PeerId, Vec<Multiaddr>>,
    events: mpsc::Sender<NodeEvent>,
    dropped: Arc<AtomicU64>,
    pub(crate) internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    net_events: mpsc::Receiver<NetEvent>,
    pub(crate) commands: mpsc::Receiver<Command>,
    /// Our groups (moved into a transaction and back while one runs).
    pub(crate) groups: groups::GroupMap,
    /// Topics, subscriptions, the publication queue, held messages.
    pub(crate) topics: groups::Topics,
    /// Members of our groups who are not contacts, with whom we hold a
    /// pairwise session for the groups' traffic (docs/protocol.md §G13).
    pub(crate) group_peers: intro::GroupPeers,
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Stop(Option<Reply<()>>),
}

impl Engine {
    /// Sends an event without waiting: when the channel is full the event
    /// is dropped and counted.
    pub(crate) fn emit(&self, event: NodeEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn run(mut self) {
        self.startup().await;
        let stop = loop {
            self.pump();
            let wake = self.outbox.next_due();
            let flush = self.acked.deadline();
            let poll = (!self.relays_up.is_empty()).then_some(self.next_poll);
            let publish = self.topics.retry_at;
            let settle = self.topics.next_settle();
            let flow = tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => Flow::Stop(None),
                },
                Some(internal) = self.internal_rx.recv() => {
                    self.internal(internal).await;
                    Flow::Continue
                }
                event = self.net_events.recv() => match event {
                    Some(event) => {
                        self.net_event(event).await;
                        Flow::Continue
                    }
                    None => Flow::Stop(None),
                },
                () = sleep_until(wake), if wake.is_some() => Flow::Continue,
                () = sleep_until(flush), if flush.is_some() => {
                    self.flush_acked().await;
                    Flow::Continue
                }
                () = sleep_until(poll), if poll.is_some() => {
                    self.poll_mailboxes();
                    Flow::Continue
                }
                () = sleep_until(publish), if publish.is_some() => {
                    self.try_publish();
                    Flow::Continue
                }
                () = sleep_until(settle), if settle.is_some() => {
                    self.settle_publications().await;
                    Flow::Continue
                }
            };
            if let Flow::Stop(reply) = flow {
                break reply;
            }
        };
        self.flush_acked().await;
        let _ = self.net.shutdown().await;
        let closed = self.store.clone().close().await;
        if let Some(reply) = stop {
            let _ = reply.send(closed.map_err(NodeError::from));
        }
    }

    /// Dials contacts so they learn where we are now.
    async fn startup(&mut self) {
        self.start_relays().await;
        self.load_publications().await;
        self.start_groups().await;
        self.start_group_peers().await;
        let mut dials = Vec::new();
        let keys: Vec<[u8; 32]> = self
            .contacts
            .keys()
            .chain(self.group_peers.keys())
            .take(MAX_STARTUP_DIALS)
            .copied()
            .collect();
        for key in keys {
            if let Some((peer, _, _)) = self.reach(&key) {
                dials.push((peer, self.contact_addrs(&key)));
            }
        }
        let net = self.net.clone();
        tokio::spawn(async move {
            for (peer, addrs) in dials {
                if !addrs.is_empty() {
                    let _ = net.add_addresses(peer, addrs).await;
                }
                let _ = net.dial(peer).await;
            }
        });
    }

    /// Starts every batch that is due.
    fn pump(&mut self) {
        for batch in self.outbox.due(Instant::now()) {
            for message in &batch.newly_sent {
                self.emit(NodeEvent::StatusChanged {
                    group: None,
                    member: None,
                    id: hex::encode(message.id),
                    conversation: message.conversation,
                    status: crate::Status::Sent,
                    detail: None,
                });
            }
            let (ids_tx, ids_rx) = oneshot::channel();
            let _ = ids_tx.send(batch.ids);
            self.dispatch(batch.recipient, batch.envelopes, ids_rx);
        }
    }

    /// Sends one `/wren/dm/1` request to `recipient` on a task of its own;
    /// its result comes back as [`Internal::Sent`] for the outbox ids that
    /// `ids` delivers (an express send learns them from its commit, which
    /// runs while the request travels; if that commit fails, `ids` is
    /// dropped and the result with it).
    pub(crate) fn dispatch(
        &mut self,
        recipient: [u8; 32],
        envelopes: Vec<Vec<u8>>,
        ids: oneshot::Receiver<Vec<u64>>,
    ) {
        let Ok(key) = IdentityKey::from_bytes(&recipient) else {
            return;
        };
        let peer = key.peer_id();
        let addrs = if self.addressed.insert(recipient) {
            self.contact_addrs(&recipient)
        } else {
            Vec::new()
        };
        let net = self.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            if !addrs.is_empty() {
                let _ = net.add_addresses(peer, addrs).await;
            }
            let result = net.send_direct(peer, envelopes).await;
            let Ok(ids) = ids.await else {
                return;
            };
            let _ = done
                .send(Internal::Sent {
                    recipient,
                    ids,
                    result,
                })
                .await;
        });
    }

    async fn command(&mut self, first: Command) -> Flow {
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::SendText { to, text, reply } if self.is_group(&to) => {
                    let result = match self.resolve_group(&to) {
                        Ok(gid) => self.send_group_text(gid, text).await,
                        Err(error) => Err(error),
                    };
                    let _ = reply.send(result);
                }
                Command::SendText { to, text, reply } => {
                    let mut sends = vec![(to, text, reply)];
                    while sends.len() < crate::limits::MAX_GROUP_COMMIT {
                        match self.commands.try_recv() {
                            Ok(Command::SendText { to, text, reply }) if !self.is_group(&to) => {
                                sends.push((to, text, reply))
                            }
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.send_texts(sends).await;
                }
                Command::Shutdown { reply } => return Flow::Stop(Some(reply)),
                other => self.other_command(other).await,
            }
        }
        Flow::Continue
    }

    async fn other_command(&mut self, command: Command) {
        match command {
            Command::PairingCode { reply } => {
                self.maybe_rotate().await;
                let _ = reply.send(self.my_code().await);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.net.listen_addrs().await.map_err(NodeError::from));
            }
            Command::AddContact {
                target,
                alias,
                reply,
            } => self.add_contact(target, alias, reply).await,
            Command::Contacts { reply } => {
                let _ = reply.send(Ok(self.contact_list()));
            }
            Command::ContactRequests { reply } => {
                let _ = reply.send(Ok(self.request_list()));
            }
            Command::Accept {
                contact,
                alias,
                reply,
            } => {
                let _ = reply.send(self.accept(&contact, alias).await);
            }
            Command::Decline { contact, reply } => {
                let _ = reply.send(self.decline(&contact).await);
            }
            Command::Nearby { reply } => {
                let _ = reply.send(Ok(self.nearby_list()));
            }
            Command::SafetyNumber { contact, reply } => {
                let result = self.resolve(&contact).map(|entry| {
                    wren_crypto::SafetyNumber::new(self.me.public(), &entry.key).to_string()
                });
                let _ = reply.send(result);
            }
            Command::Preview { target, reply } => {
                let _ = reply.send(self.preview(&target));
            }
            Command::Verify { contact, reply } => {
                let _ = reply.send(self.verify(&contact).await);
            }
            Command::Retry { id, reply } => {
                let _ = reply.send(self.retry(&id).await);
            }
            Command::Conversations { reply } => {
                let _ = reply.send(self.conversations().await);
            }
            Command::History {
                contact,
                before,
                limit,
                reply,
            } => {
                let _ = reply.send(self.history(&contact, before, limit).await);
            }
            Command::MarkRead { target, reply } => {
                let _ = reply.send(self.mark_read(&target).await);
            }
            Command::AddRelay { relay, reply } => {
                let _ = reply.send(self.add_relay(&relay).await);
            }
            Command::RemoveRelay { relay, reply } => {
                let _ = reply.send(self.remove_relay(&relay).await);
            }
            Command::Relays { reply } => {
                let _ = reply.send(self.relay_list().await);
            }
            Command::SetName { name, reply } => {
                let _ = reply.send(self.set_name(&name).await);
            }
            Command::RelayUsers {
                relay,
                change,
                reply,
            } => self.relay_users(&relay, change, reply),
            Command::CreateGroup {
                name,
                members,
                channel,
                reply,
            } => {
                let _ = reply.send(self.create_group(&name, &members, channel).await);
            }
            Command::Groups { reply } => {
                let _ = reply.send(Ok(self.group_list()));
            }
            Command::Membership {
                group,
                change,
                reply,
            } => {
                let result = match change {
                    MembershipCommand::Add(contact) => self.add_member(&group, &contact).await,
                    MembershipCommand::Remove(contact) => {
                        self.remove_member(&group, &contact).await
                    }
                    MembershipCommand::Promote(contact) => {
                        self.promote_member(&group, &contact).await
                    }
                    MembershipCommand::Rename(name) => self.rename_group(&group, &name).await,
                    MembershipCommand::Leave => self
                        .leave_group(&group)
                        .await
                        .map(|()| self.group_list().into_iter().find(|g| g.id == group.trim()))
                        .and_then(|info| {
                            info.ok_or_else(|| NodeError::UnknownGroup(group.clone()))
                        }),
                };
                let _ = reply.send(result);
            }
            // Handled by `command`.
            Command::SendText { reply, .. } => {
                let _ = reply.send(Err(NodeError::Unavailable("send")));
            }
            Command::Shutdown { reply } => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// `set_name`: stores the new display name with the identity, uses it
    /// from now on and sends every contact a profile carrying it.
    async fn set_name(&mut self, name: &str) -> Result<Identity, NodeError> {
        let name = display_name(name)?;
        if name != self.name {
            let me = Arc::clone(&self.me);
            let stored = name.clone();
            self.store
                .write(move |tx| tx.set_identity(&me, &stored))
                .await?;
            self.name = name;
            self.send_profiles().await;
        }
        Ok(identity_of(&self.me, &self.name))
    }

    async fn internal(&mut self, internal: Internal) {
        match internal {
            Internal::Sent {
                recipient,
                ids,
                result,
            } => self.send_finished(recipient, ids, result).await,
            Internal::Fetched { relay, result } => self.fetched(relay, result).await,
            Internal::Deposited {
                recipient,
                ids,
                result,
            } => self.deposited(recipient, ids, result).await,
            Internal::Published {
                group,
                message,
                result,
            } => self.published(group, message, result).await,
            Internal::Bundle {
                peer,
                alias,
                result,
                reply,
            } => {
                let outcome = self.bundle_fetched(peer, alias, result).await;
                let _ = reply.send(outcome);
            }
        }
    }

    async fn net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening { addr } => self.emit(NodeEvent::Listening { addr }),
            NetEvent::Connected { peer } => {
                self.connected.insert(peer);
                if let Some(key) = self.contact_key(&peer) {
                    self.outbox.wake(&key);
                    self.emit(NodeEvent::ContactOnline {
                        contact: peer.to_string(),
                    });
                } else if let Ok(key) = IdentityKey::from_peer_id(&peer)
                    && self.group_peers.contains_key(&key.to_bytes())
                {
                    self.outbox.wake(&key.to_bytes());
                }
            }
            NetEvent::Disconnected { peer } => {
                self.connected.remove(&peer);
                self.topic_peer_gone(&peer);
                self.paths.remove(&peer);
                self.hole_punches.remove(&peer);
                if self.contact_key(&peer).is_some() {
                    self.emit(NodeEvent::ContactOffline {
                        contact: peer.to_string(),
                    });
                }
            }
            NetEvent::PeerDiscovered { peer, addrs } => {
                let fingerprint = IdentityKey::from_peer_id(&peer)
                    .map(|key| key.fingerprint().to_string())
                    .unwrap_or_default();
                self.nearby.insert(peer, addrs);
                if let Some(key) = self.contact_key(&peer) {
                    self.addressed.remove(&key);
                    self.outbox.wake(&key);
                }
                self.emit(NodeEvent::PeerDiscovered {
                    peer_id: peer.to_string(),
                    fingerprint,
                });
            }
            NetEvent::RelayConnected { relay } if self.is_my_relay(&relay) => {
                self.fetch_mailbox(relay);
            }
            NetEvent::RelayReserved { relay, addrs } => {
                self.relay_event(relay, Some(addrs), String::new());
                self.fetch_mailbox(relay);
            }
            NetEvent::RelayLost { relay, reason } => self.relay_event(relay, None, reason),
            NetEvent::PeerPath { peer, path } => {
                self.paths.insert(peer, path);
                if self.contact_key(&peer).is_some() {
                    self.emit(NodeEvent::ContactPath {
                        contact: peer.to_string(),
                        path: match path {
                            wren_net::Path::Direct => crate::Path::Direct,
                            wren_net::Path::Relayed => crate::Path::Relayed,
                        },
                    });
                }
            }
            NetEvent::HolePunch {
                peer,
                succeeded,
                error,
            } => {
                if self.contact_key(&peer).is_some() {
                    self.emit(NodeEvent::HolePunch {
                        contact: peer.to_string(),
                        succeeded,
                        detail: error,
                    });
                } else if self.connected.contains(&peer)
                    && (self.hole_punches.len() < MAX_REMEMBERED_HOLE_PUNCHES
                        || self.hole_punches.contains_key(&peer))
                {
                    // Reported when it becomes a contact (pairing).
                    self.hole_punches.insert(peer, (succeeded, error));
                }
            }
            NetEvent::PeerExpired { peer } => {
                self.nearby.remove(&peer);
                self.emit(NodeEvent::PeerExpired {
                    peer_id: peer.to_string(),
                });
            }
            NetEvent::DirectRequest {
                peer,
                envelopes,
                reply,
            } => {
                // The event taken from the queue that did not join the
                // transaction comes next, in order; a loop, not recursion,
                // for a run of requests that cannot share one.
                let mut next = self.direct_requests(peer, envelopes, reply).await;
                while let Some(event) = next.take() {
                    next = match event {
                        NetEvent::DirectRequest {
                            peer,
                            envelopes,
                            reply,
                        } => self.direct_requests(peer, envelopes, reply).await,
                        other => {
                            Box::pin(self.net_event(other)).await;
                            None
                        }
                    };
                }
            }
            NetEvent::BundleRequest { peer, reply } => self.bundle_request(peer, reply).await,
            NetEvent::GroupMessage {
                propagation_source,
                message_id,
                topic,
                data,
                ..
            } => {
                self.group_message(propagation_source, message_id, topic, data)
                    .await
            }
            NetEvent::GroupPeerSubscribed { peer, topic } => self.topic_peer(peer, topic, true),
            NetEvent::GroupPeerUnsubscribed { peer, topic } => self.topic_peer(peer, topic, false),
            _ => {}
        }
    }

    /// Rotates the signed prekey when it is due (checked whenever the node
    /// hands out its prekeys: in a pairing code or a bundle).
    pub(crate) async fn maybe_rotate(&mut self) {
        let now = now_ms() / 1_000;
        if !self.prekeys.needs_rotation(now) {
            return;
        }
        let bytes = self.prekeys.to_bytes();
        let me = Arc::clone(&self.me);
        let rotated = self
            .store
            .write(move |tx| {
                let mut prekeys =
                    SignedPrekeys::from_bytes(&bytes).map_err(|_| StoreError::Corrupt {
                        table: "signed_prekeys",
                        corruption: wren_store::Corruption::KeyMaterial,
                    })?;
                prekeys.rotate(&me, now, &mut rand::rng());
                tx.set_signed_prekeys(&prekeys)?;
                Ok(prekeys)
            })
            .await;
        match rotated {
            Ok(prekeys) => {
                self.prekeys = Arc::new(prekeys);
                // Contacts keep our latest code (they forward it in
                // introductions, docs/protocol.md §G13).
                self.send_profiles().await;
            }
            Err(error) => warn!(%error, "rotating the signed prekey failed"),
        }
    }

    /// The contact's key, if `peer` is a contact.
    pub(crate) fn contact_key(&self, peer: &PeerId) -> Option<[u8; 32]> {
        let key = IdentityKey::from_peer_id(peer).ok()?.to_bytes();
        self.contacts.contains_key(&key).then_some(key)
    }

    /// Answers a `/wren/bundle/1` request with our signed prekey bundle and
    /// one one-time prekey, handed out durably before the answer.
    async fn bundle_request(&mut self, peer: PeerId, reply: BundleReply) {
        debug!(%peer, "bundle request");
        self.maybe_rotate().await;
        let spk = *self.prekeys.current().public();
        let mut pool = self.otk;
        let result = self
            .store
            .write(move |tx| {
                let mut one_time = None;
                while one_time.is_none() && pool.next_handout < pool.next_id {
                    let id = pool.next_handout;
                    pool.next_handout += 1;
                    // `take` + `put` reads the secret back in this transaction.
                    if let Some(pair) = tx.take_one_time_prekey(id)? {
                        tx.put_one_time_prekey(id, &pair)?;
                        one_time = Some(*pair.public());
                    }
                }
                if pool.next_id.saturating_sub(pool.next_handout) < ONE_TIME_PREKEY_LOW_WATER {
                    pool = refill(tx, pool, &mut rand::rng())?;
                }
                meta::write_otk_pool(tx, &pool)?;
                Ok((one_time, pool))
            })
            .await;
        let net = self.net.clone();
        match result {
            Ok((one_time, pool)) => {
                self.otk = pool;
                let bundle = PrekeyBundle::new(*self.me.public(), spk, one_time).to_bytes();
                tokio::spawn(async move {
                    let _ = net.respond_bundle(reply, bundle).await;
                });
            }
            Err(error) => {
                warn!(%error, "cannot hand out a prekey bundle");
                tokio::spawn(async move {
                    let _ = net.respond_bundle_busy(reply).await;
                });
            }
        }
    }
}

/// The alias of a contact, if the user gave one.
pub(crate) fn alias_of(contact: &Contact) -> Option<String> {
    (!contact.alias.is_empty()).then(|| contact.alias.clone())
}

/// Parses stored address strings, skipping invalid ones.
pub(crate) fn parse_addrs(addrs: &[String]) -> Vec<Multiaddr> {
    addrs.iter().filter_map(|a| a.parse().ok()).collect()
}

async fn sleep_until(when: Option<Instant>) {
    match when {
        Some(when) => tokio::time::sleep_until(when).await,
        None => std::future::pending().await,
    }
}
