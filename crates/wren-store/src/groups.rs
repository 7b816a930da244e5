//! Groups (docs/protocol.md Part VIII): each group's record, its op frames,
//! our sending chain, the receivers kept for the other members, group
//! messages in the history, the frames waiting to be published or for
//! their members' receipts, and the received frames the engine holds until
//! they can be opened.
//!
//! Every write here goes through the caller's [`WriteTx`], so a step of the
//! group protocol (ops applied, a chain rotated, a message sealed and
//! queued for publication) commits in one transaction with the rest of it.
//!
//! What is sealed: the group record, op frames, our chain, the receivers
//! and the held frames. Not sealed: the publication queue and our
//! published frames awaiting receipts, whose frames are sender-key
//! ciphertext, exactly the bytes published on the topic (like the outbox,
//! see [`schema::OUTBOX`]).

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};
use serde::{Deserialize, Serialize};
use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};
use wren_proto::codec;
use wren_proto::group::HistoryKey;
use zeroize::Zeroizing;

use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::records::{Direction, MessageStatus};
use crate::schema;
use crate::seal;
use crate::tx::{IncomingOutcome, NewMessage, ReadTx, WriteTx};

/// Largest encoded [`GroupRecord`]: its fixed fields plus one key per
/// possible member in `distributed`.
pub(crate) const GROUP_LIMIT: usize = 512 + 33 * wren_proto::limits::MAX_GROUP_MEMBERS;

/// Largest stored op frame (`wren_proto::limits::MAX_GROUP_OP_BYTES`).
const OP_LIMIT: usize = wren_proto::limits::MAX_GROUP_OP_BYTES;

/// Largest queued publication: one group envelope frame.
const PUBLISH_LIMIT: usize = wren_proto::limits::MAX_ENVELOPE_BYTES;

/// What we keep about one group besides its ops and keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// The group's conversation (kind [`ConversationKind::Group`](crate::ConversationKind::Group)).
    pub conversation: u64,
    /// The membership epoch (an op id) our current sending chain was made
    /// for and distributed at; `None` before the first one.
    pub key_epoch: Option<[u8; 32]>,
    /// The members (identity keys) our current chain was sent to; the
    /// others still need it. At most `MAX_GROUP_MEMBERS`.
    pub distributed: Vec<[u8; 32]>,
    /// We are no longer a member (left, or were removed): the history
    /// stays, nothing is sent.
    pub left: bool,
}

#[derive(Serialize, Deserialize)]
enum GroupRecordVersions {
    V1(GroupRecord),
}

/// Everything a group message we send changes, committed together by
/// [`WriteTx::record_group_outgoing`].
pub struct GroupOutgoing<'k> {
    /// The group.
    pub group: [u8; 32],
    /// Its conversation.
    pub conversation: u64,
    /// Our chain after encrypting the message.
    pub sender_key: &'k SenderKey,
    /// The message (its id is the text's id; status `Sending`).
    pub message: NewMessage,
    /// The group envelope frame to publish.
    pub frame: Vec<u8>,
}

/// Everything a received group message changes, committed together by
/// [`WriteTx::record_group_incoming`].
pub struct GroupIncoming<'r> {
    /// The group.
    pub group: [u8; 32],
    /// Its conversation.
    pub conversation: u64,
    /// The sender's identity key.
    pub sender: [u8; 32],
    /// The receiver kept for the sender, after decrypting the message.
    pub receiver: &'r SenderKeyReceiver,
    /// The message (status `Received`).
    pub message: NewMessage,
}

/// A group envelope frame waiting to be published.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedPublication {
    /// The group.
    pub group: [u8; 32],
    /// The message it carries (the text's id in the history).
    pub message: [u8; 16],
    /// The frame.
    pub frame: Vec<u8>,
}

/// Lengths only: the frame is ciphertext, but it stays out of logs.
impl std::fmt::Debug for QueuedPublication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedPublication")
            .field("frame_len", &self.frame.len())
            .finish_non_exhaustive()
    }
}

fn key_pair(group: &[u8; 32], second: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + second.len());
    out.extend_from_slice(group);
    out.extend_from_slice(second);
    out
}

fn corrupt(table: &'static str) -> impl Fn(Corruption) -> StoreError {
    move |corruption| StoreError::Corrupt { table, corruption }
}

fn key_material(table: &'static str) -> StoreError {
    StoreError::Corrupt {
        table,
        corruption: Corruption::KeyMaterial,
    }
}

fn open_group(key: &StorageKey, group: &[u8; 32], sealed: &[u8]) -> Result<GroupRecord> {
    let plaintext =
        seal::open(key, schema::GROUPS.name(), group, sealed).map_err(corrupt("groups"))?;
    let GroupRecordVersions::V1(record) =
        codec::decode::<GroupRecordVersions, GROUP_LIMIT>(&plaintext)
            .map_err(|error| corrupt("groups")(Corruption::Decode(error)))?;
    Ok(record)
}

fn open_op(key: &StorageKey, group: &[u8; 32], id: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>> {
    let plaintext = seal::open(key, schema::GROUP_OPS.name(), &key_pair(group, id), sealed)
        .map_err(corrupt("group_ops"))?;
    if plaintext.len() > OP_LIMIT {
        return Err(key_material("group_ops"));
    }
    Ok(plaintext.to_vec())
}

fn open_sender_key(key: &StorageKey, group: &[u8; 32], sealed: &[u8]) -> Result<SenderKey> {
    let bytes = seal::open(key, schema::GROUP_SENDER_KEYS.name(), group, sealed)
        .map_err(corrupt("group_sender_keys"))?;
    SenderKey::from_bytes(&bytes).map_err(|_| key_material("group_sender_keys"))
}

fn open_receiver(
    key: &StorageKey,
    group: &[u8; 32],
    member: &[u8; 32],
    sealed: &[u8],
) -> Result<SenderKeyReceiver> {
    let bytes = seal::open(
        key,
        schema::GROUP_RECEIVERS.name(),
        &key_pair(group, member),
        sealed,
    )
    .map_err(corrupt("group_receivers"))?;
    SenderKeyReceiver::from_bytes(&bytes).map_err(|_| key_material("group_receivers"))
}

fn ops_of(
    key: &StorageKey,
    table: &impl ReadableTable<([u8; 32], [u8; 32]), &'static [u8]>,
    group: &[u8; 32],
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for row in table.range((*group, [0u8; 32])..=(*group, [0xff; 32]))? {
        let (k, v) = row?;
        let (_, id) = k.value();
        out.push(open_op(key, group, &id, v.value())?);
    }
    Ok(out)
}

fn receivers_of(
    key: &StorageKey,
    table: &impl ReadableTable<([u8; 32], [u8; 32]), &'static [u8]>,
    group: &[u8; 32],
) -> Result<Vec<([u8; 32], SenderKeyReceiver)>> {
    let mut out = Vec::new();
    for row in table.range((*group, [0u8; 32])..=(*group, [0xff; 32]))? {
        let (k, v) = row?;
        let (_, member) = k.value();
        out.push((member, open_receiver(key, group, &member, v.value())?));
    }
    Ok(out)
}

fn publications(
    table: &impl ReadableTable<([u8; 32], [u8; 16]), &'static [u8]>,
    name: &'static str,
) -> Result<Vec<QueuedPublication>> {
    let mut out = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        let (group, message) = k.value();
        let frame = v.value();
        if frame.len() > PUBLISH_LIMIT {
            return Err(StoreError::Corrupt {
                table: name,
                corruption: Corruption::KeyMaterial,
            });
        }
        out.push(QueuedPublication {
            group,
            message,
            frame: frame.to_vec(),
        });
    }
    Ok(out)
}

impl ReadTx<'_> {
    /// Every group we know, by id; a record that does not open is reported
    /// in its place.
    pub fn groups(&self) -> Result<Vec<([u8; 32], Result<GroupRecord>)>> {
        let table = self.txn.open_table(schema::GROUPS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let group = k.value();
            out.push((group, open_group(self.key, &group, v.value())));
        }
        Ok(out)
    }

    /// A group's op frames (accepted and pending), by op id: apply them in
    /// any order to rebuild its state (docs/protocol.md §G4).
    pub fn group_ops(&self, group: &[u8; 32]) -> Result<Vec<Vec<u8>>> {
        let table = self.txn.open_table(schema::GROUP_OPS)?;
        ops_of(self.key, &table, group)
    }

    /// Our sending chain for a group.
    pub fn group_sender_key(&self, group: &[u8; 32]) -> Result<Option<SenderKey>> {
        let table = self.txn.open_table(schema::GROUP_SENDER_KEYS)?;
        let Some(guard) = table.get(group)? else {
            return Ok(None);
        };
        open_sender_key(self.key, group, guard.value()).map(Some)
    }

    /// The receivers kept for a group's other members.
    pub fn group_receivers(&self, group: &[u8; 32]) -> Result<Vec<([u8; 32], SenderKeyReceiver)>> {
        let table = self.txn.open_table(schema::GROUP_RECEIVERS)?;
        receivers_of(self.key, &table, group)
    }

    /// Every frame waiting to be published, by group then message id.
    pub fn group_publications(&self) -> Result<Vec<QueuedPublication>> {
        let table = self.txn.open_table(schema::GROUP_PUBLISH)?;
        publications(&table, "group_publish")
    }

    /// Every published frame whose members' receipts are awaited, by group
    /// then message id.
    pub fn watched_publications(&self) -> Result<Vec<QueuedPublication>> {
        match self.optional_table(schema::GROUP_WATCHED)? {
            Some(table) => publications(&table, "group_watched"),
            None => Ok(Vec::new()),
        }
    }
}

impl WriteTx<'_> {
    /// A group's record (sees this transaction's writes).
    pub fn group(&self, group: &[u8; 32]) -> Result<Option<GroupRecord>> {
        let table = self.raw().open_table(schema::GROUPS)?;
        let Some(guard) = table.get(group)? else {
            return Ok(None);
        };
        open_group(self.storage_key(), group, guard.value()).map(Some)
    }

    /// Stores or replaces a group's record.
    pub fn put_group(&mut self, group: &[u8; 32], record: &GroupRecord) -> Result<()> {
        if record.distributed.len() > wren_proto::limits::MAX_GROUP_MEMBERS {
            return Err(StoreError::FieldTooLong {
                field: "group distributed",
            });
        }
        let plaintext = Zeroizing::new(
            codec::encode(&GroupRecordVersions::V1(record.clone())).map_err(StoreError::Encode)?,
        );
        let sealed = seal::seal(self.storage_key(), schema::GROUPS.name(), group, &plaintext);
        self.raw()
            .open_table(schema::GROUPS)?
            .insert(group, sealed.as_slice())?;
        Ok(())
    }

    /// Stores an op frame of a group under its op id (accepted or pending;
    /// storing it again changes nothing).
    pub fn put_group_op(&mut self, group: &[u8; 32], id: &[u8; 32], frame: &[u8]) -> Result<()> {
        if frame.len() > OP_LIMIT {
            return Err(StoreError::FieldTooLong { field: "group op" });
        }
        let sealed = seal::seal(
            self.storage_key(),
            schema::GROUP_OPS.name(),
            &key_pair(group, id),
            frame,
        );
        self.raw()
            .open_table(schema::GROUP_OPS)?
            .insert((*group, *id), sealed.as_slice())?;
        Ok(())
    }

    /// A group's op frames (sees this transaction's writes).
    pub fn group_ops(&self, group: &[u8; 32]) -> Result<Vec<Vec<u8>>> {
        let table = self.raw().open_table(schema::GROUP_OPS)?;
        ops_of(self.storage_key(), &table, group)
    }

    /// Our sending chain for a group (sees this transaction's writes).
    pub fn group_sender_key(&self, group: &[u8; 32]) -> Result<Option<SenderKey>> {
        let table = self.raw().open_table(schema::GROUP_SENDER_KEYS)?;
        let Some(guard) = table.get(group)? else {
            return Ok(None);
        };
        open_sender_key(self.storage_key(), group, guard.value()).map(Some)
    }

    /// Stores our sending chain for a group (sealed; the plaintext copy is
    /// zeroized).
    pub fn set_group_sender_key(&mut self, group: &[u8; 32], key: &SenderKey) -> Result<()> {
        let bytes = key.to_bytes();
        let sealed = seal::seal(
            self.storage_key(),
            schema::GROUP_SENDER_KEYS.name(),
            group,
            &bytes,
        );
        self.raw()
            .open_table(schema::GROUP_SENDER_KEYS)?
            .insert(group, sealed.as_slice())?;
        Ok(())
    }

    /// Deletes our sending chain for a group (we left or were removed).
    pub fn remove_group_sender_key(&mut self, group: &[u8; 32]) -> Result<bool> {
        Ok(self
            .raw()
            .open_table(schema::GROUP_SENDER_KEYS)?
            .remove(group)?
            .is_some())
    }

    /// The receiver kept for `member` of `group` (sees this transaction's
    /// writes).
    pub fn group_receiver(
        &self,
        group: &[u8; 32],
        member: &[u8; 32],
    ) -> Result<Option<SenderKeyReceiver>> {
        let table = self.raw().open_table(schema::GROUP_RECEIVERS)?;
        let Some(guard) = table.get((*group, *member))? else {
            return Ok(None);
        };
        open_receiver(self.storage_key(), group, member, guard.value()).map(Some)
    }

    /// Stores the receiver kept for `member` of `group` (sealed).
    pub fn set_group_receiver(
        &mut self,
        group: &[u8; 32],
        member: &[u8; 32],
        receiver: &SenderKeyReceiver,
    ) -> Result<()> {
        let bytes = receiver.to_bytes();
        let sealed = seal::seal(
            self.storage_key(),
            schema::GROUP_RECEIVERS.name(),
            &key_pair(group, member),
            &bytes,
        );
        self.raw()
            .open_table(schema::GROUP_RECEIVERS)?
            .insert((*group, *member), sealed.as_slice())?;
        Ok(())
    }

    /// Deletes the receiver kept for `member` of `group` (it is no longer a
    /// member). Returns whether there was one.
    pub fn remove_group_receiver(&mut self, group: &[u8; 32], member: &[u8; 32]) -> Result<bool> {
        Ok(self
            .raw()
            .open_table(schema::GROUP_RECEIVERS)?
            .remove((*group, *member))?
            .is_some())
    }

    /// Records a group message we send: our chain after encrypting it, the
    /// message in the group's conversation (next sequence, id indexed, and
    /// its place in the group order indexed) and the frame queued for
    /// publication. Returns the message's sequence.
    ///
    /// Fails with [`StoreError::DuplicateMessageId`] if the id is taken.
    pub fn record_group_outgoing(&mut self, outgoing: GroupOutgoing<'_>) -> Result<u64> {
        let GroupOutgoing {
            group,
            conversation,
            sender_key,
            message,
            frame,
        } = outgoing;
        if frame.len() > PUBLISH_LIMIT {
            return Err(StoreError::FieldTooLong {
                field: "group frame",
            });
        }
        let id = message.id;
        let key = HistoryKey::new(message.sent_at, message.received_at, id);
        let seq = self.append_new(conversation, message, Direction::Outgoing)?;
        let Some(seq) = seq else {
            return Err(StoreError::DuplicateMessageId);
        };
        self.index_group_message(conversation, seq, key)?;
        self.set_group_sender_key(&group, sender_key)?;
        self.raw()
            .open_table(schema::GROUP_PUBLISH)?
            .insert((group, id), frame.as_slice())?;
        Ok(seq)
    }

    /// Removes a frame from the publication queue (published). Returns
    /// whether it was queued.
    pub fn remove_group_publication(
        &mut self,
        group: &[u8; 32],
        message: &[u8; 16],
    ) -> Result<bool> {
        Ok(self
            .remove_frame(schema::GROUP_PUBLISH, group, message)?
            .is_some())
    }

    /// Removes a row of a table of our frames; returns its frame.
    fn remove_frame(
        &mut self,
        table: TableDefinition<'static, ([u8; 32], [u8; 16]), &'static [u8]>,
        group: &[u8; 32],
        message: &[u8; 16],
    ) -> Result<Option<Vec<u8>>> {
        let mut table = self.raw().open_table(table)?;
        let removed = table.remove((*group, *message))?;
        Ok(removed.map(|frame| frame.value().to_vec()))
    }

    /// Moves a published frame from the publication queue to the frames
    /// whose members' receipts are awaited ([`schema::GROUP_WATCHED`]),
    /// unless that table holds [`MAX_WATCHED_GROUP_FRAMES`] rows (the frame
    /// then only leaves the queue). Returns whether it was queued.
    pub fn watch_group_publication(
        &mut self,
        group: &[u8; 32],
        message: &[u8; 16],
    ) -> Result<bool> {
        let Some(frame) = self.remove_frame(schema::GROUP_PUBLISH, group, message)? else {
            return Ok(false);
        };
        let mut watched = self.raw().open_table(schema::GROUP_WATCHED)?;
        if watched.len()? < MAX_WATCHED_GROUP_FRAMES as u64 {
            watched.insert((*group, *message), frame.as_slice())?;
        }
        Ok(true)
    }

    /// Removes a frame from those whose members' receipts are awaited (the
    /// members who did not confirm it got their copy). Returns whether it
    /// was there.
    pub fn remove_watched_publication(
        &mut self,
        group: &[u8; 32],
        message: &[u8; 16],
    ) -> Result<bool> {
        Ok(self
            .remove_frame(schema::GROUP_WATCHED, group, message)?
            .is_some())
    }

    /// Records a received group message: the sender's receiver after
    /// decrypting it and the message in the group's conversation (next
    /// sequence, unread + 1, its place in the group order indexed). A message whose id is already stored returns
    /// [`IncomingOutcome::AlreadyStored`]; the receiver is stored in both
    /// cases (it moved when the message decrypted).
    pub fn record_group_incoming(
        &mut self,
        incoming: GroupIncoming<'_>,
    ) -> Result<IncomingOutcome> {
        let GroupIncoming {
            group,
            conversation,
            sender,
            receiver,
            message,
        } = incoming;
        if message.status != MessageStatus::Received {
            return Err(StoreError::FieldTooLong {
                field: "incoming group message status",
            });
        }
        self.set_group_receiver(&group, &sender, receiver)?;
        let id = message.id;
        let key = HistoryKey::new(message.sent_at, message.received_at, id);
        match self.append_new(conversation, message, Direction::Incoming)? {
            Some(seq) => {
                self.index_group_message(conversation, seq, key)?;
                Ok(IncomingOutcome::Stored { seq, receipt: None })
            }
            None => {
                let (conversation, seq) = self.existing_message(&id)?.unwrap_or((conversation, 0));
                Ok(IncomingOutcome::AlreadyStored { conversation, seq })
            }
        }
    }

    /// Every frame waiting to be published (sees this transaction's writes).
    pub fn group_publications(&self) -> Result<Vec<QueuedPublication>> {
        let table = self.raw().open_table(schema::GROUP_PUBLISH)?;
        publications(&table, "group_publish")
    }
}

/// Most rows of [`schema::GROUP_WATCHED`]: four times the texts the
/// engine watches at once (256, docs/protocol.md §G10), so that rows left
/// by a crash (settled again after the restart) do not push out new ones.
/// A frame published while the table is full is not kept: a restart within
/// its receipt wait then loses its pairwise copies.
pub const MAX_WATCHED_GROUP_FRAMES: usize = 1_024;

/// Most rows of [`schema::GROUP_HELD`]: the engine's two holds together
/// (256 frames waiting for a chain and 64 waiting for the op admitting
/// their sender, docs/protocol.md §G10). The engine keeps its holds within
/// their own bounds and removes what it drops; this cap only keeps a
/// table that an engine bug left behind from growing.
pub const MAX_HELD_GROUP_FRAMES: usize = 320;

/// Largest encoded held-frame record: one group envelope frame and a few
/// fixed fields.
const HELD_LIMIT: usize = PUBLISH_LIMIT + 64;

/// Which hold a held group frame is in (docs/protocol.md §G8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldKind {
    /// Its sender is a member, but the sender's chain has not arrived.
    Chain,
    /// Refused because its sender is not (yet) a member who may post: it
    /// waits for the op admitting the sender.
    Unadmitted,
}

/// A group frame the engine holds, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldFrame {
    /// The group whose topic the frame names.
    pub group: [u8; 32],
    /// Which hold it is in.
    pub hold: HoldKind,
    /// When it was put in that hold (Unix milliseconds): holds are
    /// refilled oldest first at start.
    pub held_at: u64,
    /// The group envelope frame, as it arrived (at most
    /// `MAX_ENVELOPE_BYTES`).
    pub frame: Vec<u8>,
}

/// Lengths only: the frame is ciphertext, but it stays out of logs.
impl std::fmt::Debug for HeldFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldFrame")
            .field("hold", &self.hold)
            .field("held_at", &self.held_at)
            .field("frame_len", &self.frame.len())
            .finish_non_exhaustive()
    }
}

/// One stored held frame as listed: its group, its message id (SHA-256 of
/// the frame), and the frame, or why it did not open.
pub type HeldRow = ([u8; 32], [u8; 32], Result<HeldFrame>);

#[derive(Serialize, Deserialize)]
struct HeldRecord {
    hold: HoldKind,
    held_at: u64,
    frame: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
enum HeldRecordVersions {
    V1(HeldRecord),
}

fn open_held(
    key: &StorageKey,
    group: &[u8; 32],
    id: &[u8; 32],
    sealed: &[u8],
) -> Result<HeldFrame> {
    let plaintext = seal::open(key, schema::GROUP_HELD.name(), &key_pair(group, id), sealed)
        .map_err(corrupt("group_held"))?;
    let HeldRecordVersions::V1(record) =
        codec::decode::<HeldRecordVersions, HELD_LIMIT>(&plaintext)
            .map_err(|error| corrupt("group_held")(Corruption::Decode(error)))?;
    if record.frame.len() > PUBLISH_LIMIT {
        return Err(key_material("group_held"));
    }
    Ok(HeldFrame {
        group: *group,
        hold: record.hold,
        held_at: record.held_at,
        frame: record.frame,
    })
}

impl ReadTx<'_> {
    /// Every held group frame, by group then message id (SHA-256 of the
    /// frame); a record that does not open is reported in its place, with
    /// its key so that it can be removed.
    pub fn group_held(&self) -> Result<Vec<HeldRow>> {
        let Some(table) = self.optional_table(schema::GROUP_HELD)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let (group, id) = k.value();
            out.push((group, id, open_held(self.key, &group, &id, v.value())));
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Stores a held group frame under its group and message id (SHA-256
    /// of the frame), replacing the row of the same frame (it moved to the
    /// other hold). A new frame is not stored once the table holds
    /// [`MAX_HELD_GROUP_FRAMES`] rows. Returns whether it was stored.
    pub fn put_group_held(&mut self, held: &HeldFrame) -> Result<bool> {
        if held.frame.len() > PUBLISH_LIMIT {
            return Err(StoreError::FieldTooLong {
                field: "held group frame",
            });
        }
        let id = wren_proto::group::group_message_id(&held.frame);
        let mut table = self.raw().open_table(schema::GROUP_HELD)?;
        if table.get((held.group, id))?.is_none() && table.len()? >= MAX_HELD_GROUP_FRAMES as u64 {
            return Ok(false);
        }
        let record = HeldRecordVersions::V1(HeldRecord {
            hold: held.hold,
            held_at: held.held_at,
            frame: held.frame.clone(),
        });
        let plaintext = codec::encode(&record).map_err(StoreError::Encode)?;
        let sealed = seal::seal(
            self.storage_key(),
            schema::GROUP_HELD.name(),
            &key_pair(&held.group, &id),
            &plaintext,
        );
        table.insert((held.group, id), sealed.as_slice())?;
        Ok(true)
    }

    /// Removes a held group frame (it left its hold: opened, dropped or
    /// pushed out). Returns whether it was stored.
    pub fn remove_group_held(&mut self, group: &[u8; 32], id: &[u8; 32]) -> Result<bool> {
        Ok(self
            .raw()
            .open_table(schema::GROUP_HELD)?
            .remove((*group, *id))?
            .is_some())
    }
}
