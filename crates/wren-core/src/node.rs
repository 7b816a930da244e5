//! The [`Node`] handle: a cheap, cloneable front to the engine task.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot};
use wren_net::Multiaddr;
use wren_store::Unlock;

use crate::config::NodeConfig;
use crate::engine::{self, Command, MembershipCommand};
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::types::{
    ContactInfo, ContactPreview, ConversationInfo, GroupInfo, Identity, MessageInfo, NearbyPeer,
    RelayInfo, RequestInfo, SentMessage,
};

/// A handle to a running node.
///
/// Every method sends one command over a bounded channel to the engine task
/// (waiting while the channel is full) and awaits its reply. Clones share
/// the engine; the engine stops on [`Node::shutdown`] or when every handle
/// is dropped. Methods fail with [`NodeError::Shutdown`] once it stopped.
///
/// A `CONTACT` argument is a contact's alias or its peer id.
#[derive(Clone, Debug)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    /// The identity as last set (shared by the clones; updated by
    /// [`Node::set_name`]).
    identity: Arc<RwLock<Identity>>,
    dropped: Arc<AtomicU64>,
}

impl Node {
    /// Creates a store in `home` with a new identity named `name` (1 to 64
    /// bytes, no control characters), its signed prekeys and a pool of
    /// one-time prekeys. Fails with [`NodeError::AlreadyInitialised`] if the
    /// home already has an identity.
    pub async fn init(home: &Path, name: &str, unlock: Unlock) -> Result<Identity, NodeError> {
        engine::init(home, name, unlock).await
    }

    /// Opens the store in `config.home`, starts the network with the
    /// identity's key and spawns the engine task on the current tokio
    /// runtime. Returns the handle and the event stream (see
    /// [`crate::event`] for its delivery policy).
    ///
    /// Fails with [`NodeError::NotInitialised`] if the home has no identity.
    pub async fn open(config: NodeConfig) -> Result<(Node, mpsc::Receiver<NodeEvent>), NodeError> {
        let started = engine::start(config).await?;
        Ok((
            Node {
                commands: started.commands,
                identity: Arc::new(RwLock::new(started.identity)),
                dropped: started.dropped,
            },
            started.events,
        ))
    }

    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, NodeError>>) -> Command,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NodeError::Shutdown)?;
        answer.await.map_err(|_| NodeError::Shutdown)?
    }

    /// This node's identity.
    pub async fn identity(&self) -> Identity {
        match self.identity.read() {
            Ok(identity) => identity.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes this node's display name (validated like [`Node::init`]'s:
    /// 1 to 64 bytes, no control characters). The name is stored, used in
    /// every pairing code made from now on, and sent to every contact in
    /// an encrypted profile (the same message that announces relay
    /// changes), so they show the new name. Returns the updated identity.
    pub async fn set_name(&self, name: &str) -> Result<Identity, NodeError> {
        let name = name.to_owned();
        let identity = self.call(|reply| Command::SetName { name, reply }).await?;
        match self.identity.write() {
            Ok(mut cached) => *cached = identity.clone(),
            Err(poisoned) => *poisoned.into_inner() = identity.clone(),
        }
        Ok(identity)
    }

    /// Adds a relay (a relay code `wren-relay:1/…` or a multiaddr ending
    /// in `/p2p/PEER_ID`; at most 8): the node keeps a circuit reservation
    /// on it so contacts can reach it behind NAT, fetches its mailbox
    /// there, advertises it in its pairing code and tells its contacts.
    /// Adding works while the relay is unreachable (it is retried).
    pub async fn add_relay(&self, relay: &str) -> Result<RelayInfo, NodeError> {
        let relay = relay.to_owned();
        self.call(|reply| Command::AddRelay { relay, reply }).await
    }

    /// Removes one of our relays (by peer id, code or address); `false`
    /// if it was not one of ours.
    pub async fn remove_relay(&self, relay: &str) -> Result<bool, NodeError> {
        let relay = relay.to_owned();
        self.call(|reply| Command::RemoveRelay { relay, reply })
            .await
    }

    /// As a relay's owner: the users it authorises (peer ids). `relay` is
    /// a relay code, an address ending in `/p2p/PEER_ID`, or the peer id of
    /// one of our relays. Fails with [`NodeError::Refused`] (`not_allowed`)
    /// when this node is not the relay's owner.
    pub async fn relay_users(&self, relay: &str) -> Result<Vec<String>, NodeError> {
        let relay = relay.to_owned();
        self.call(|reply| Command::RelayUsers {
            relay,
            change: None,
            reply,
        })
        .await
    }

    /// As a relay's owner: authorises `user` (a pairing code or a peer id)
    /// to reserve circuits and keep a mailbox on the relay.
    pub async fn relay_user_add(&self, relay: &str, user: &str) -> Result<(), NodeError> {
        let (relay, user) = (relay.to_owned(), user.to_owned());
        self.call(|reply| Command::RelayUsers {
            relay,
            change: Some((true, user)),
            reply,
        })
        .await
        .map(drop)
    }

    /// As a relay's owner: withdraws `user`'s authorisation.
    pub async fn relay_user_remove(&self, relay: &str, user: &str) -> Result<(), NodeError> {
        let (relay, user) = (relay.to_owned(), user.to_owned());
        self.call(|reply| Command::RelayUsers {
            relay,
            change: Some((false, user)),
            reply,
        })
        .await
        .map(drop)
    }

    /// Our relays with the state of their reservations.
    pub async fn relays(&self) -> Result<Vec<RelayInfo>, NodeError> {
        self.call(|reply| Command::Relays { reply }).await
    }

    /// A pairing code (`wren:1/…`) signed now, carrying the current signed
    /// prekey and the node's listen addresses as network hints.
    pub async fn pairing_code(&self) -> Result<String, NodeError> {
        self.call(|reply| Command::PairingCode { reply }).await
    }

    /// The addresses the node listens on now.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        self.call(|reply| Command::ListenAddrs { reply }).await
    }

    /// Adds a contact from its pairing code or its peer id, and sends it our
    /// contact request (the first message of a new session, carrying our
    /// own pairing code). The contact can be used as a recipient as soon as
    /// this returns; messages are delivered once it accepts.
    ///
    /// A peer id must be reachable: found by mDNS or with a known address;
    /// its prekey bundle is fetched and checked against its identity.
    /// Fails with [`NodeError::BadCode`], [`NodeError::UnknownPeer`],
    /// [`NodeError::Unreachable`], [`NodeError::AliasTaken`] or
    /// [`NodeError::IsSelf`].
    pub async fn add_contact(
        &self,
        code_or_peer_id: &str,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        let target = code_or_peer_id.to_owned();
        self.call(|reply| Command::AddContact {
            target,
            alias,
            reply,
        })
        .await
    }

    /// Every contact.
    pub async fn contacts(&self) -> Result<Vec<ContactInfo>, NodeError> {
        self.call(|reply| Command::Contacts { reply }).await
    }

    /// Contact requests waiting for the user's decision, oldest first.
    pub async fn contact_requests(&self) -> Result<Vec<RequestInfo>, NodeError> {
        self.call(|reply| Command::ContactRequests { reply }).await
    }

    /// Accepts the contact request from `contact` (a peer id, or a display
    /// name that identifies exactly one request): the requester becomes a
    /// contact, [`NodeEvent::ContactAdded`] is emitted and its messages are
    /// delivered.
    pub async fn accept(&self, contact: &str) -> Result<ContactInfo, NodeError> {
        self.accept_with_alias(contact, None).await
    }

    /// [`Node::accept`], giving the new contact an alias.
    pub async fn accept_with_alias(
        &self,
        contact: &str,
        alias: Option<String>,
    ) -> Result<ContactInfo, NodeError> {
        let contact = contact.to_owned();
        self.call(|reply| Command::Accept {
            contact,
            alias,
            reply,
        })
        .await
    }

    /// Declines (drops) the contact request from `contact`.
    pub async fn decline(&self, contact: &str) -> Result<(), NodeError> {
        let contact = contact.to_owned();
        self.call(|reply| Command::Decline { contact, reply }).await
    }

    /// Wren nodes found on the local network (empty with mDNS off).
    pub async fn nearby(&self) -> Result<Vec<NearbyPeer>, NodeError> {
        self.call(|reply| Command::Nearby { reply }).await
    }

    /// The safety number shared with `contact` (60 digits in 12 groups; the
    /// same on both sides).
    pub async fn safety_number(&self, contact: &str) -> Result<String, NodeError> {
        let contact = contact.to_owned();
        self.call(|reply| Command::SafetyNumber { contact, reply })
            .await
    }

    /// Who `code_or_peer_id` names, before adding it: display name (from
    /// a code), fingerprint, safety number, and whether it is already a
    /// contact or a pending request. Local only: nothing is sent, so a
    /// front end can show it while the user decides. Fails with
    /// [`NodeError::BadCode`] or [`NodeError::UnknownPeer`].
    pub async fn preview_contact(
        &self,
        code_or_peer_id: &str,
    ) -> Result<ContactPreview, NodeError> {
        let target = code_or_peer_id.to_owned();
        self.call(|reply| Command::Preview { target, reply }).await
    }

    /// Marks `contact` as verified (the user compared the safety number).
    pub async fn verify(&self, contact: &str) -> Result<ContactInfo, NodeError> {
        let contact = contact.to_owned();
        self.call(|reply| Command::Verify { contact, reply }).await
    }

    /// Sends a text to `to`: a contact, or one of our groups by its id (64
    /// hex digits, [`GroupInfo::id`]). Returns once the message, the ratchet
    /// step (or the group chain step) that encrypted it and its outbox entry
    /// (or publication queue entry) are durably committed: from then on it
    /// survives a crash and is sent.
    ///
    /// To a group: fails with [`NodeError::NotAllowed`] when we are not a
    /// member, or in a channel when we are not an admin. The message is
    /// published on the group's topic once every other member is seen
    /// subscribed (at most [`GROUP_PUBLISH_WAIT`](crate::limits::GROUP_PUBLISH_WAIT)
    /// later, to whoever is subscribed then; until someone is, it waits);
    /// its status goes `sending` → `sent`, then `delivered` once per member
    /// with a `member` field.
    pub async fn send_text(&self, to: &str, text: &str) -> Result<SentMessage, NodeError> {
        let to = to.to_owned();
        let text = text.to_owned();
        self.call(|reply| Command::SendText { to, text, reply })
            .await
    }

    /// Creates a group named `name` (1 to 64 bytes) with `members` (contacts,
    /// by alias or peer id; we are its creator and first admin). A channel
    /// (`channel`) lets only admins post. Returns once the group, its
    /// `Create` op for each member and our sender key for each member are
    /// durably committed; members then see [`NodeEvent::GroupJoined`].
    ///
    /// Every member must be our contact; members reach each other's
    /// messages only if they are contacts too (sender keys travel over the
    /// pairwise sessions; docs/protocol.md §G7).
    pub async fn create_group(
        &self,
        name: &str,
        members: &[&str],
        channel: bool,
    ) -> Result<GroupInfo, NodeError> {
        let name = name.to_owned();
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        self.call(|reply| Command::CreateGroup {
            name,
            members,
            channel,
            reply,
        })
        .await
    }

    /// Every group we are in or were in, by id.
    pub async fn groups(&self) -> Result<Vec<GroupInfo>, NodeError> {
        self.call(|reply| Command::Groups { reply }).await
    }

    /// Adds `contact` (one of our contacts) to `group` (an admin only).
    /// Returns once the `Add` op, its delivery to the members and the
    /// group's history for the newcomer are committed; members see
    /// [`NodeEvent::MemberAdded`]. Fails with [`NodeError::UnknownGroup`],
    /// [`NodeError::UnknownContact`] or [`NodeError::NotAllowed`].
    pub async fn add_member(&self, group: &str, contact: &str) -> Result<GroupInfo, NodeError> {
        let (group, contact) = (group.to_owned(), contact.to_owned());
        self.call(|reply| Command::Membership {
            group,
            change: MembershipCommand::Add(contact),
            reply,
        })
        .await
    }

    /// Removes `contact` (an alias or a member's peer id) from `group` (an
    /// admin only). Returns once the removal is committed, sent, and our
    /// sender key rotated and sent to the remaining members: nothing we
    /// send afterwards can be read by the removed member. The others rotate
    /// theirs when they apply the removal.
    pub async fn remove_member(&self, group: &str, contact: &str) -> Result<GroupInfo, NodeError> {
        let (group, contact) = (group.to_owned(), contact.to_owned());
        self.call(|reply| Command::Membership {
            group,
            change: MembershipCommand::Remove(contact),
            reply,
        })
        .await
    }

    /// Makes `contact` (an alias or a member's peer id) an admin of
    /// `group` (an admin only): in a channel, it may post from then on,
    /// and it may change the membership. Returns once the `Promote` op is
    /// committed and queued to every other member over the pairwise
    /// sessions (like an `Add` or a `Remove`); members see
    /// [`NodeEvent::MemberPromoted`] when it arrives, and its
    /// [`GroupInfo::admins`] includes the member. Fails with
    /// [`NodeError::UnknownGroup`], [`NodeError::UnknownContact`],
    /// [`NodeError::NotAllowed`] (we are not an admin) or
    /// [`NodeError::InvalidArgument`] (not a member, or already an admin).
    pub async fn promote_member(&self, group: &str, contact: &str) -> Result<GroupInfo, NodeError> {
        let (group, contact) = (group.to_owned(), contact.to_owned());
        self.call(|reply| Command::Membership {
            group,
            change: MembershipCommand::Promote(contact),
            reply,
        })
        .await
    }

    /// Renames `group` (an admin only) to `name`, a display name: 1 to 64
    /// bytes, no control characters. Returns once the `Rename` op is
    /// committed and queued to every other member over the pairwise
    /// sessions (like a `Promote`); every member, us included, sees
    /// [`NodeEvent::GroupRenamed`] when its view of the name changes, and
    /// [`GroupInfo::name`] and the group's conversation title show the new
    /// name. Concurrent renames by two admins settle on the same name
    /// everywhere (the one with the larger op id, docs/protocol.md §G5).
    /// Fails with [`NodeError::UnknownGroup`], [`NodeError::NotAllowed`]
    /// (we are not an admin, or not a member any more) or
    /// [`NodeError::InvalidArgument`] (not a valid name, or the name the
    /// group already has: renaming to the current name signs nothing).
    pub async fn rename_group(&self, group: &str, name: &str) -> Result<GroupInfo, NodeError> {
        let (group, name) = (group.to_owned(), name.to_owned());
        self.call(|reply| Command::Membership {
            group,
            change: MembershipCommand::Rename(name),
            reply,
        })
        .await
    }

    /// Leaves `group`: the `Leave` op goes to the members, our sender key
    /// and the members' keys are deleted, the topic is left. The history
    /// stays.
    pub async fn leave_group(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(|reply| Command::Membership {
            group,
            change: MembershipCommand::Leave,
            reply,
        })
        .await
        .map(drop)
    }

    /// Sends a failed message again (same id and ciphertext): it goes back
    /// to the outbox, at the end of its recipient's queue.
    pub async fn retry(&self, message_id: &str) -> Result<(), NodeError> {
        let id = message_id.to_owned();
        self.call(|reply| Command::Retry { id, reply }).await
    }

    /// Conversations, most recent activity first: those with contacts and
    /// those of the groups we are or were in ([`ConversationInfo::group`]
    /// tells them apart).
    pub async fn conversations(&self) -> Result<Vec<ConversationInfo>, NodeError> {
        self.call(|reply| Command::Conversations { reply }).await
    }

    /// A page of the text messages exchanged with `contact` (or in a group,
    /// by its id), oldest first:
    /// the `limit` (at most [`MAX_HISTORY_PAGE`](crate::limits::MAX_HISTORY_PAGE))
    /// messages before sequence `before` (`None`: the newest). Includes the
    /// user's own messages. A direct conversation is in arrival order; a
    /// group's history is in the group order every member shows
    /// (docs/protocol.md §G9), and `before` names a message (the `seq` of
    /// the first one of the previous page), the page being the messages
    /// that sort before it.
    pub async fn history(
        &self,
        contact: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageInfo>, NodeError> {
        let contact = contact.to_owned();
        self.call(|reply| Command::History {
            contact,
            before,
            limit,
            reply,
        })
        .await
    }

    /// Marks a conversation (by id, or by contact) read up to its last
    /// message, and sends the contact an encrypted read receipt for the
    /// newly read messages. Returns how many messages were newly read.
    pub async fn mark_read(&self, conversation_or_contact: &str) -> Result<usize, NodeError> {
        let target = conversation_or_contact.to_owned();
        self.call(|reply| Command::MarkRead { target, reply }).await
    }

    /// Events dropped so far because the event channel was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops the engine: stops the network, lets the store finish and
    /// closes it. When this returns, the home can be opened again.
    /// Calling it again is harmless.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        match self.call(|reply| Command::Shutdown { reply }).await {
            Ok(()) | Err(NodeError::Shutdown) => Ok(()),
            Err(other) => Err(other),
        }
    }
}
