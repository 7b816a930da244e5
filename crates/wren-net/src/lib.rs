//! Wren's libp2p layer.
//!
//! One tokio task owns the libp2p [`Swarm`](libp2p::Swarm); the engine talks
//! to it through a cloneable [`Net`] handle (commands over a bounded channel,
//! each with a oneshot reply) and reads [`NetEvent`]s from a bounded
//! channel. The task never waits for the engine: see [`event`] for what
//! happens when the event channel is full.
//!
//! Protocols (byte layouts in docs/protocol.md, Parts V and VII):
//!
//! - [`dm`] — `/wren/dm/1`: a batch of opaque envelopes per request, one
//!   [`Ack`] per envelope (or a whole-batch "busy") in the response. The
//!   engine answers inbound batches with [`Net::respond_direct`] after
//!   storing them.
//! - [`bundle`] — `/wren/bundle/1`: fetch a peer's signed prekey bundle.
//! - [`mailbox`] — `/wren/mailbox/1`, client side: deposit envelopes for an
//!   offline recipient on a relay, fetch and acknowledge this node's own
//!   mailbox, manage a relay's users ([`Net::mailbox`]). The codec
//!   ([`MailboxCodec`]) and the encoding functions are public so that the
//!   relay server uses the same code.
//! - Gossipsub for groups: unsigned (anonymous) messages, since a group
//!   message carries its sender-key signature; content-hash message ids;
//!   peer scoring; every message validated by the engine
//!   ([`Net::report_validation`]) before it is forwarded.
//! - Identify (`/wren/id/1.0.0`), ping, mDNS (optional), AutoNAT v2 client,
//!   circuit relay v2 client and DCUtR hole punching.
//!
//! Relays: [`Net::add_relay`] keeps a reservation on up to
//! [`MAX_RELAYS`](limits::MAX_RELAYS) relays (named by a [`RelayCode`] or an
//! address ending in `/p2p/PEER_ID`, see [`parse_relay`]), retried with
//! backoff while a relay is unreachable; [`NetEvent::RelayReserved`] carries
//! the circuit addresses to advertise and [`NetEvent::RelayConnected`] says
//! when to fetch the mailbox. [`NetEvent::PeerPath`] and [`Net::peer_path`]
//! tell whether a peer is reached directly or only through a relay, and
//! [`NetEvent::HolePunch`] reports DCUtR's attempts to go direct. Only
//! confirmed addresses (relay circuits, AutoNAT) become this node's
//! external addresses, never what peers report seeing.
//!
//! Transports: TCP and QUIC, DNS, Noise and Yamux. The libp2p identity is
//! the Wren identity key itself, so a connection authenticates the contact.
//!
//! Every queue, map and frame is bounded; the bounds are in [`limits`].
//!
//! Connections are opened on demand (sending dials with every known address)
//! and closed after [`NetConfig::idle_timeout`] without pending work; a
//! pending request, or being in a peer's gossipsub mesh, keeps one open.
//! Reconnecting and retrying with backoff is the engine's job: a failed send
//! leaves the envelopes in its outbox.

mod behaviour;
pub mod bundle;
mod command;
mod config;
pub mod dm;
mod error;
pub mod event;
mod event_loop;
mod frame;
pub mod limits;
pub mod mailbox;
mod net;
mod relay_code;
mod relays;

pub use config::{AGENT_VERSION, IDENTIFY_PROTOCOL_VERSION, NetConfig, default_listen_addrs};
pub use dm::Ack;
pub use error::{FrameError, NetError, PublishError, RelayCodeError, SendError};
pub use event::{
    Acceptance, BundleReply, GroupMessageId, InboundReply, NetEvent, NetStats, Path, RelayInfo,
    RelayState,
};
pub use libp2p::{Multiaddr, PeerId, identity::Keypair, multiaddr::Protocol};
pub use mailbox::{
    DepositOutcome, MailboxCodec, MailboxRequest, MailboxResponse, RefusalCode, StoredItem,
};
pub use net::{Net, spawn};
pub use relay_code::{RELAY_CODE_PREFIX, RelayCode, parse_relay};
