//! Every bound of the network layer, as named constants.
//!
//! Frame limits are part of the wire contract (docs/protocol.md, Part V):
//! changing one changes which frames peers accept. The others bound this
//! node's memory and queues and may change freely.

use std::time::Duration;

/// Largest envelope one direct-message request may carry, in bytes: the
/// largest envelope frame of the wire format (64 KiB).
pub const MAX_ENVELOPE_BYTES: usize = wren_proto::limits::MAX_ENVELOPE_BYTES;

/// Most envelopes in one `/wren/dm/1` request. Longer outboxes are sent as
/// several requests.
///
/// Large enough that one receiver commit (one fsync) covers a whole burst
/// of small messages: 1 024 texts of 100 bytes make a frame of about
/// 200 KiB, well within [`MAX_DM_FRAME_BYTES`].
pub const MAX_BATCH: usize = 1_024;

/// Largest `/wren/dm/1` request frame (version byte included, the stream's
/// length prefix excluded): 1 MiB.
///
/// It bounds a batch as a whole, so a batch of [`MAX_BATCH`] maximal
/// envelopes does not fit: the sender splits batches with
/// [`dm::request_frame_len`](crate::dm::request_frame_len).
pub const MAX_DM_FRAME_BYTES: usize = 1_048_576;

/// Largest `/wren/dm/1` response frame: version, status, count and three
/// bytes per acknowledgement of a full batch.
pub const MAX_DM_RESPONSE_BYTES: usize = 1 + 1 + 2 + 3 * MAX_BATCH;

/// Largest signed prekey bundle a `/wren/bundle/1` response may carry, in
/// bytes (4 KiB; a version 1 bundle is about 170 bytes).
pub const MAX_BUNDLE_BYTES: usize = 4_096;

/// The `/wren/bundle/1` request frame: the version byte alone.
pub const BUNDLE_REQUEST_BYTES: usize = 1;

/// Largest `/wren/bundle/1` response frame: version, status and a bundle.
pub const MAX_BUNDLE_RESPONSE_BYTES: usize = 1 + 1 + MAX_BUNDLE_BYTES;

/// Largest gossipsub RPC this node sends or accepts: one maximal envelope
/// plus room for gossipsub's own framing (protobuf fields, topic, sequence
/// number, signature and control messages).
pub const MAX_GOSSIP_TRANSMIT_BYTES: usize = MAX_ENVELOPE_BYTES + 4_096;

/// Longest gossipsub topic name accepted by `subscribe` and `publish`, in
/// bytes.
pub const MAX_TOPIC_BYTES: usize = 256;

/// Gossipsub peer score below which a peer gets no gossip (IHAVE/IWANT)
/// from this node. One message forwarded and rejected by the engine costs
/// [`GOSSIP_INVALID_MESSAGE_WEIGHT`]; a few take a peer below this.
pub const GOSSIP_GOSSIP_THRESHOLD: f64 = -10.0;

/// Score below which this node publishes nothing to a peer.
pub const GOSSIP_PUBLISH_THRESHOLD: f64 = -50.0;

/// Score below which a peer's messages are ignored altogether.
pub const GOSSIP_GRAYLIST_THRESHOLD: f64 = -80.0;

/// Weight of the (squared) count of messages a peer forwarded that were
/// rejected (gossipsub's P4): 3 rejected messages give −90, graylisted.
pub const GOSSIP_INVALID_MESSAGE_WEIGHT: f64 = -10.0;

/// Decay of that count per decay interval (1 s): a peer recovers within
/// about a minute once it stops.
pub const GOSSIP_INVALID_MESSAGE_DECAY: f64 = 0.9;

/// Capacity of the command channel from [`Net`](crate::Net) handles to the
/// swarm task. A full channel makes callers wait, never the swarm.
pub const COMMAND_CHANNEL_CAPACITY: usize = 256;

/// Default capacity of the event channel from the swarm task to the engine
/// (see [`NetConfig::event_capacity`](crate::NetConfig::event_capacity)).
pub const EVENT_CHANNEL_CAPACITY: usize = 1_024;

/// Most inbound requests (direct messages and bundle requests together)
/// waiting for the engine's answer. Beyond it, new requests are answered
/// "busy" at once.
pub const MAX_PENDING_INBOUND_REPLIES: usize = 256;

/// Most outbound requests (direct messages and bundle fetches together)
/// waiting for a peer's response. Beyond it, new sends fail locally with
/// [`SendError::TooManyPending`](crate::SendError::TooManyPending).
pub const MAX_PENDING_OUTBOUND: usize = 1_024;

/// Most concurrent request-response streams per protocol (inbound and
/// outbound together) on one node.
pub const MAX_CONCURRENT_STREAMS: usize = 64;

/// Default time a request may take, from sending it to receiving the whole
/// response; the same bound applies to an inbound request waiting for the
/// engine's answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a connection without any open stream or pending work stays
/// open.
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Most addresses accepted for one peer by one
/// [`Net::add_addresses`](crate::Net::add_addresses) call, and most
/// addresses reported per peer in discovery events.
pub const MAX_ADDRESSES_PER_PEER: usize = 16;

/// Most peers remembered from mDNS at once. Further peers are ignored until
/// some expire.
pub const MAX_MDNS_PEERS: usize = 256;

/// Most envelopes in one `/wren/mailbox/1` deposit request.
pub const MAX_DEPOSIT_BATCH: usize = 256;

/// Most items one `/wren/mailbox/1` fetch may ask for (its `limit`), and
/// most items in one page.
pub const MAX_FETCH_ITEMS: usize = 256;

/// Largest `/wren/mailbox/1` request frame (version byte included, the
/// stream's length prefix excluded): 1 MiB.
///
/// A deposit of [`MAX_DEPOSIT_BATCH`] maximal envelopes does not fit: the
/// sender splits deposits with
/// [`mailbox::request_frame_len`](crate::mailbox::request_frame_len).
pub const MAX_MAILBOX_REQUEST_BYTES: usize = 1_048_576;

/// Largest `/wren/mailbox/1` response frame: 1 MiB. A relay stops filling
/// a page before it would exceed this bound (and sets `more`).
pub const MAX_MAILBOX_RESPONSE_BYTES: usize = 1_048_576;

/// Most users a relay authorises, and so most peer ids in one `users`
/// response.
pub const MAX_USERS_LISTED: usize = 4_096;

/// Longest peer id on the wire (`PeerId::to_bytes`), in bytes. An Ed25519
/// peer id is 38 bytes.
pub const MAX_PEER_ID_BYTES: usize = 64;

/// Most addresses in one relay code.
pub const MAX_RELAY_CODE_ADDRS: usize = 8;

/// Longest address in a relay code (`Multiaddr::to_vec`), in bytes.
pub const MAX_RELAY_CODE_ADDR_BYTES: usize = 256;

/// Longest relay code text accepted by the parser, in characters, after
/// trimming whitespace. The longest valid code is about 3 430 characters.
pub const MAX_RELAY_CODE_CHARS: usize = 4_096;

/// Most relays this node keeps reservations with at once
/// ([`Net::add_relay`](crate::Net::add_relay) refuses more).
pub const MAX_RELAYS: usize = 8;

/// First delay before retrying a relay reservation that failed or closed.
/// Each further failure doubles it, up to [`RELAY_BACKOFF_MAX`].
pub const RELAY_BACKOFF_MIN: Duration = Duration::from_secs(1);

/// Longest delay between two attempts to reserve a slot on a relay.
pub const RELAY_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A page holding one maximal item: version, kind, count, seq,
/// deposited_at, length, envelope, more.
const PAGE_ONE_ITEM: usize = 1 + 1 + 2 + 8 + 8 + 4 + MAX_ENVELOPE_BYTES + 1;

// The frame limits nest.
const _: () = {
    // One maximal envelope fits in a request: version 1, count 2, length 4.
    assert!(1 + 2 + 4 + MAX_ENVELOPE_BYTES <= MAX_DM_FRAME_BYTES);
    // Lengths fit their fields.
    assert!(MAX_BATCH <= u16::MAX as usize);
    assert!(MAX_DM_FRAME_BYTES <= u32::MAX as usize);
    assert!(MAX_ENVELOPE_BYTES <= u32::MAX as usize);
    // One maximal envelope fits in a deposit to a maximal peer id: version,
    // op, peer id, count, length.
    assert!(
        1 + 1 + 1 + MAX_PEER_ID_BYTES + 2 + 4 + MAX_ENVELOPE_BYTES <= MAX_MAILBOX_REQUEST_BYTES
    );
    // One maximal item fits in a page: version, kind, count, item, more.
    assert!(PAGE_ONE_ITEM <= MAX_MAILBOX_RESPONSE_BYTES);
    // A full users list fits in a response.
    assert!(1 + 1 + 2 + MAX_USERS_LISTED * (1 + MAX_PEER_ID_BYTES) <= MAX_MAILBOX_RESPONSE_BYTES);
    assert!(MAX_DEPOSIT_BATCH <= u16::MAX as usize);
    assert!(MAX_FETCH_ITEMS <= u16::MAX as usize);
    assert!(MAX_USERS_LISTED <= u16::MAX as usize);
    assert!(MAX_PEER_ID_BYTES <= u8::MAX as usize);
    assert!(MAX_RELAY_CODE_ADDRS <= u8::MAX as usize);
    assert!(MAX_RELAY_CODE_ADDR_BYTES <= u16::MAX as usize);
};
