//! What the engine reports to the front end.
//!
//! # Delivery policy
//!
//! Events go out over a bounded channel
//! ([`EVENT_CHANNEL_CAPACITY`](crate::limits::EVENT_CHANNEL_CAPACITY)). The
//! engine never waits for a slow consumer: when the channel is full, the
//! event is dropped and counted (see [`Node::dropped_events`](crate::Node::dropped_events)).
//! Nothing is lost by that: every event describes state that is already
//! durably stored or can be asked for (history, statuses, contacts,
//! requests, conversations), so a front end that falls behind re-reads it.

use serde::Serialize;
use wren_net::Multiaddr;

use crate::types::Status;

/// Something that happened in the engine.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeEvent {
    /// The node listens on a new address.
    Listening {
        /// The address.
        addr: Multiaddr,
    },
    /// A text message from a contact was stored (it is in the history).
    MessageReceived {
        /// The message id (32 hex digits).
        id: String,
        /// The sender's peer id.
        from: String,
        /// The sender's alias, if the user gave one.
        alias: Option<String>,
        /// The conversation.
        conversation: u64,
        /// Its sequence in the conversation.
        seq: u64,
        /// The text.
        text: String,
        /// When the sender sent it (ms since the Unix epoch, sender's clock).
        sent_at: u64,
        /// The group id, for a group message (`None`: a direct message).
        group: Option<String>,
    },
    /// An outgoing message changed state.
    StatusChanged {
        /// The message id (32 hex digits).
        id: String,
        /// The conversation.
        conversation: u64,
        /// The new state.
        status: Status,
        /// Details, e.g. why it failed.
        detail: Option<String>,
        /// The group id, for a group message.
        group: Option<String>,
        /// For `delivered` and `read` of a group message: the member (peer
        /// id) whose receipt it is; one event per member.
        member: Option<String>,
    },
    /// We became a member of a group someone else created or added us to.
    GroupJoined {
        /// The group id (64 hex digits).
        group: String,
        /// Its name.
        name: String,
    },
    /// A member was added to one of our groups.
    MemberAdded {
        /// The group id.
        group: String,
        /// The new member's peer id.
        contact: String,
    },
    /// A member was removed from (or left) one of our groups; `contact` is
    /// our own peer id when it is us.
    MemberRemoved {
        /// The group id.
        group: String,
        /// The member's peer id.
        contact: String,
    },
    /// A member of one of our groups became an admin: an admin promoted
    /// it, or it is the member with the smallest key and the last admin
    /// left or was removed (docs/protocol.md §G4). `contact` is our own
    /// peer id when it is us.
    MemberPromoted {
        /// The group id.
        group: String,
        /// The member's peer id.
        contact: String,
    },
    /// A member of one of our groups is no longer an admin but still a
    /// member: concurrent ops were ordered so that an admin's change no
    /// longer holds (docs/protocol.md §G4, §G5), for example a promotion
    /// that sorted after the promoting admin's removal. `contact` is our
    /// own peer id when it is us. Only a reordering demotes; no op does.
    MemberDemoted {
        /// The group id.
        group: String,
        /// The member's peer id.
        contact: String,
    },
    /// One of our groups has a new name: an admin renamed it, or
    /// concurrent renames were ordered so that another one holds (the one
    /// with the larger op id, docs/protocol.md §G4, §G5). Emitted on every
    /// member when its view of the name changes, the renamer's included;
    /// `name` is the name [`GroupInfo::name`](crate::GroupInfo::name) and
    /// the group's conversation title show from then on.
    GroupRenamed {
        /// The group id.
        group: String,
        /// The new name.
        name: String,
    },
    /// A message on a group's topic was refused (not from a member, not an
    /// admin in a channel, a bad signature, …): it was neither stored nor
    /// forwarded. One refused only because our view does not admit its
    /// sender yet is kept for a while (bounded, in memory) and arrives as
    /// [`NodeEvent::MessageReceived`] if an op admitting the sender comes
    /// later (docs/protocol.md §G8).
    GroupMessageRefused {
        /// The group id.
        group: String,
        /// Why.
        reason: String,
    },
    /// Someone who is not a contact asks to become one.
    ContactRequest {
        /// The requester's peer id.
        from: String,
        /// The display name from the requester's pairing code.
        name: String,
    },
    /// A contact can now be used as a message recipient.
    ContactAdded {
        /// The contact's peer id.
        contact: String,
        /// The contact's alias, if any.
        alias: Option<String>,
    },
    /// A contact accepted our contact request (its state is now added).
    ContactAccepted {
        /// The contact's peer id.
        contact: String,
    },
    /// A connection to a contact opened.
    ContactOnline {
        /// The contact's peer id.
        contact: String,
    },
    /// The last connection to a contact closed.
    ContactOffline {
        /// The contact's peer id.
        contact: String,
    },
    /// mDNS found a Wren node on the local network.
    PeerDiscovered {
        /// Its peer id.
        peer_id: String,
        /// Its identity fingerprint.
        fingerprint: String,
    },
    /// A node found by mDNS is no longer announced.
    PeerExpired {
        /// Its peer id.
        peer_id: String,
    },
    /// The path to a connected contact changed (see [`Path`](crate::Path)).
    ContactPath {
        /// The contact's peer id.
        contact: String,
        /// How it is reached now.
        path: crate::Path,
    },
    /// A hole punch (DCUtR) with a contact reached through a relay ended.
    HolePunch {
        /// The contact's peer id.
        contact: String,
        /// Whether a direct connection resulted.
        succeeded: bool,
        /// Why not, when it failed.
        detail: Option<String>,
    },
    /// One of our relays holds a reservation for us: contacts can reach us
    /// at these circuit addresses.
    RelayReserved {
        /// The relay's peer id.
        relay: String,
        /// Our circuit addresses through it.
        addrs: Vec<String>,
    },
    /// One of our relays could not be reached or dropped our reservation;
    /// it is retried with backoff.
    RelayLost {
        /// The relay's peer id.
        relay: String,
        /// What went wrong.
        reason: String,
    },
    /// Something went wrong in the background (the node keeps running).
    Error {
        /// What went wrong (never message text or key material).
        detail: String,
    },
}

impl std::fmt::Debug for NodeEvent {
    /// Message texts are replaced by their length: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MessageReceived {
                id,
                from,
                conversation,
                seq,
                text,
                group,
                ..
            } => f
                .debug_struct("MessageReceived")
                .field("id", id)
                .field("from", from)
                .field("conversation", conversation)
                .field("seq", seq)
                .field("text_len", &text.len())
                .field("group", group)
                .finish_non_exhaustive(),
            Self::Listening { addr } => f.debug_struct("Listening").field("addr", addr).finish(),
            Self::StatusChanged {
                id,
                conversation,
                status,
                detail,
                group,
                member,
            } => f
                .debug_struct("StatusChanged")
                .field("id", id)
                .field("conversation", conversation)
                .field("status", status)
                .field("detail", detail)
                .field("group", group)
                .field("member", member)
                .finish(),
            Self::GroupJoined { group, name } => f
                .debug_struct("GroupJoined")
                .field("group", group)
                .field("name", name)
                .finish(),
            Self::MemberAdded { group, contact } => f
                .debug_struct("MemberAdded")
                .field("group", group)
                .field("contact", contact)
                .finish(),
            Self::MemberRemoved { group, contact } => f
                .debug_struct("MemberRemoved")
                .field("group", group)
                .field("contact", contact)
                .finish(),
            Self::MemberPromoted { group, contact } => f
                .debug_struct("MemberPromoted")
                .field("group", group)
                .field("contact", contact)
                .finish(),
            Self::MemberDemoted { group, contact } => f
                .debug_struct("MemberDemoted")
                .field("group", group)
                .field("contact", contact)
                .finish(),
            Self::GroupRenamed { group, name } => f
                .debug_struct("GroupRenamed")
                .field("group", group)
                .field("name", name)
                .finish(),
            Self::GroupMessageRefused { group, reason } => f
                .debug_struct("GroupMessageRefused")
                .field("group", group)
                .field("reason", reason)
                .finish(),
            Self::ContactRequest { from, name } => f
                .debug_struct("ContactRequest")
                .field("from", from)
                .field("name", name)
                .finish(),
            Self::ContactAdded { contact, alias } => f
                .debug_struct("ContactAdded")
                .field("contact", contact)
                .field("alias", alias)
                .finish(),
            Self::ContactAccepted { contact } => f
                .debug_struct("ContactAccepted")
                .field("contact", contact)
                .finish(),
            Self::ContactOnline { contact } => f
                .debug_struct("ContactOnline")
                .field("contact", contact)
                .finish(),
            Self::ContactOffline { contact } => f
                .debug_struct("ContactOffline")
                .field("contact", contact)
                .finish(),
            Self::PeerDiscovered {
                peer_id,
                fingerprint,
            } => f
                .debug_struct("PeerDiscovered")
                .field("peer_id", peer_id)
                .field("fingerprint", fingerprint)
                .finish(),
            Self::PeerExpired { peer_id } => f
                .debug_struct("PeerExpired")
                .field("peer_id", peer_id)
                .finish(),
            Self::ContactPath { contact, path } => f
                .debug_struct("ContactPath")
                .field("contact", contact)
                .field("path", path)
                .finish(),
            Self::HolePunch {
                contact,
                succeeded,
                detail,
            } => f
                .debug_struct("HolePunch")
                .field("contact", contact)
                .field("succeeded", succeeded)
                .field("detail", detail)
                .finish(),
            Self::RelayReserved { relay, addrs } => f
                .debug_struct("RelayReserved")
                .field("relay", relay)
                .field("addrs", addrs)
                .finish(),
            Self::RelayLost { relay, reason } => f
                .debug_struct("RelayLost")
                .field("relay", relay)
                .field("reason", reason)
                .finish(),
            Self::Error { detail } => f.debug_struct("Error").field("detail", detail).finish(),
        }
    }
}
