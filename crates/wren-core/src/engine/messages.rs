//! Messages: sending (group commit), delivery results, read receipts,
//! retries, conversations, history and read markers.

use std::collections::HashMap;
use std::str::FromStr;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, warn};
use wren_crypto::{OutboundMessage, SessionBook};
use wren_net::{Ack, SendError};
use wren_proto::{Envelope, MessageId, Payload, Receipt, Text, Timestamp, Versioned};
use wren_store::{
    ConversationKind, Direction, Message, MessageStatus, NewMessage, NewOutbox, Order, Outgoing,
    ReceiptCounts, StoreError,
};

use super::acked::{self, AckedEntry};
use super::outbox::{MessageRef, OutEntry};
use super::receive;
use super::{Engine, Reply, alias_of, now_ms};
use crate::error::NodeError;
use crate::event::NodeEvent;
use crate::limits::{
    MAX_CONVERSATIONS, MAX_HISTORY_PAGE, MAX_RECEIPT_IDS, MAX_SEND_ATTEMPTS, PREVIEW_CHARS,
    RESERVED_SENDING_KEYS, reject,
};
use crate::types::{ConversationInfo, MessageInfo, SentMessage, Status};

/// One `send_text` of a group commit, resolved.
struct Draft {
    contact: [u8; 32],
    id: [u8; 16],
    content: Vec<u8>,
    /// Already encrypted (an express send), or encrypted in the transaction.
    envelope: Option<Vec<u8>>,
}

/// What the group commit stored for one draft.
struct Committed {
    conversation: u64,
    seq: u64,
    outbox: u64,
    envelope: Vec<u8>,
}

/// A message's status as the API shows it.
pub(crate) fn status_of(status: &MessageStatus) -> (Status, Option<String>) {
    match status {
        MessageStatus::Sending => (Status::Sending, None),
        MessageStatus::Sent => (Status::Sent, None),
        MessageStatus::Delivered => (Status::Delivered, None),
        MessageStatus::Read => (Status::Read, None),
        MessageStatus::Failed(reason) => (Status::Failed, Some(reason.clone())),
        MessageStatus::Received => (Status::Received, None),
        MessageStatus::Relayed => (Status::Relayed, None),
    }
}

/// The first characters of a text.
fn preview(text: &str) -> String {
    text.chars().take(PREVIEW_CHARS).collect()
}

/// Parses a message id (32 hex digits).
fn parse_id(id: &str) -> Result<[u8; 16], NodeError> {
    MessageId::from_str(id.trim())
        .map(|id| *id.as_bytes())
        .map_err(|_| NodeError::UnknownMessage(id.to_owned()))
}

impl Engine {
    /// Encrypts and commits a group of `send_text` commands in one
    /// transaction, then answers each.
    ///
    /// Express sends: when a recipient has nothing queued or in flight and
    /// its cached session has enough reserved sending keys (see
    /// [`RESERVED_SENDING_KEYS`]), its messages are encrypted here and leave
    /// at once; the transaction that records them runs while they travel,
    /// and their outbox entries join the queue, in flight, when it commits.
    /// Otherwise they are encrypted in the transaction and queued after it.
    pub(crate) async fn send_texts(&mut self, sends: Vec<(String, String, Reply<SentMessage>)>) {
        let now = now_ms();
        let mut drafts = Vec::with_capacity(sends.len());
        let mut replies = Vec::with_capacity(sends.len());
        for (to, text, reply) in sends {
            let contact = match self.resolve(&to) {
                Ok(entry) => entry.key.to_bytes(),
                Err(error) => {
                    let _ = reply.send(Err(error));
                    continue;
                }
            };
            if text.len() > wren_proto::limits::MAX_TEXT_BYTES {
                let _ = reply.send(Err(NodeError::InvalidArgument(
                    "text longer than 32 768 bytes",
                )));
                continue;
            }
            let id = receive::random_id();
            let payload = Payload::Text(Text {
                id: id.into(),
                sent_at: Timestamp::from_millis(now),
                body: text,
                reply_to: None,
            });
            let Ok(content) = payload.to_bytes() else {
                let _ = reply.send(Err(NodeError::InvalidArgument("text")));
                continue;
            };
            drafts.push(Draft {
                contact,
                id,
                content,
                envelope: None,
            });
            replies.push(reply);
        }
        if drafts.is_empty() {
            return;
        }
        let express = self.send_express(&mut drafts);
        let mut books: HashMap<[u8; 32], Option<SessionBook>> = HashMap::new();
        for draft in &drafts {
            books
                .entry(draft.contact)
                .or_insert_with(|| self.books.remove(&draft.contact));
        }
        let me = self.my_key;
        let count = drafts.len();
        let keys: Vec<([u8; 32], [u8; 16])> = drafts.iter().map(|d| (d.contact, d.id)).collect();
        let acked = self.acked.take();
        let acked_copy = acked.clone();
        let result = self
            .store
            .write(move |tx| {
                acked::apply(tx, &acked)?;
                let mut conversations: HashMap<[u8; 32], u64> = HashMap::new();
                let mut results: Vec<Result<Committed, NodeError>> = Vec::with_capacity(count);
                for draft in drafts {
                    let slot = books.entry(draft.contact).or_insert(None);
                    if slot.is_none() {
                        *slot = tx.session(&draft.contact)?;
                    }
                    let Some(book) = slot.as_mut() else {
                        results.push(Err(NodeError::Session(
                            wren_crypto::SessionError::AuthenticationFailed,
                        )));
                        continue;
                    };
                    let envelope = match draft.envelope {
                        Some(envelope) => envelope,
                        None => match encrypt_envelope(book, &draft.content) {
                            Ok(envelope) => envelope,
                            Err(error) => {
                                results.push(Err(error));
                                continue;
                            }
                        },
                    };
                    // Stored with the session: the next messages may leave
                    // before their own commit.
                    book.reserve_sending_keys(RESERVED_SENDING_KEYS);
                    let conversation = match conversations.get(&draft.contact) {
                        Some(id) => *id,
                        None => {
                            let id = tx.direct_conversation(&draft.contact, now)?;
                            conversations.insert(draft.contact, id);
                            id
                        }
                    };
                    let recorded = tx.record_outgoing(Outgoing {
                        conversation,
                        session: book,
                        message: NewMessage {
                            id: draft.id,
                            sender: me,
                            sent_at: now,
                            received_at: now,
                            content: draft.content,
                            status: MessageStatus::Sending,
                        },
                        outbox: NewOutbox {
                            recipient: draft.contact,
                            envelope: envelope.clone(),
                            next_retry_ms: now,
                        },
                    })?;
                    results.push(Ok(Committed {
                        conversation,
                        seq: recorded.seq,
                        outbox: recorded.outbox,
                        envelope,
                    }));
                }
                Ok((results, books))
            })
            .await;
        let (results, books) = match result {
            Ok(done) => done,
            Err(error) => {
                // Nothing was stored; the cached books were dropped with the
                // transaction and are read again from the store next time
                // (their stored reservation covers every key an express send
                // used). Express requests already left: their results are
                // dropped, and the recipient may show those messages.
                self.acked.restore(acked_copy, Instant::now());
                for contact in express.into_keys() {
                    self.outbox.finish(&contact, false, Instant::now());
                }
                let detail = error.to_string();
                warn!(%detail, "group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(NodeError::Commit(detail.clone())));
                }
                return;
            }
        };
        for (contact, book) in books {
            if let Some(book) = book {
                self.books.insert(contact, book);
            }
        }
        let mut express_entries: HashMap<[u8; 32], Vec<(u64, OutEntry)>> = HashMap::new();
        for ((result, reply), (contact, id)) in results.into_iter().zip(replies).zip(keys) {
            match result {
                Ok(committed) => {
                    let _ = reply.send(Ok(SentMessage {
                        id: hex::encode(id),
                        conversation: committed.conversation,
                        seq: committed.seq,
                    }));
                    self.emit(NodeEvent::StatusChanged {
                        group: None,
                        member: None,
                        id: hex::encode(id),
                        conversation: committed.conversation,
                        status: Status::Sending,
                        detail: None,
                    });
                    let entry = OutEntry {
                        envelope: committed.envelope,
                        message: Some(MessageRef {
                            id,
                            conversation: committed.conversation,
                            visible: true,
                        }),
                        attempts: 0,
                    };
                    if express.contains_key(&contact) {
                        self.emit(NodeEvent::StatusChanged {
                            group: None,
                            member: None,
                            id: hex::encode(id),
                            conversation: committed.conversation,
                            status: Status::Sent,
                            detail: None,
                        });
                        express_entries
                            .entry(contact)
                            .or_default()
                            .push((committed.outbox, entry));
                    } else {
                        self.outbox.push(contact, committed.outbox, entry);
                    }
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            }
        }
        for (contact, ids_tx) in express {
            let entries = express_entries.remove(&contact).unwrap_or_default();
            let ids = entries.iter().map(|(id, _)| *id).collect();
            self.outbox.express_committed(contact, entries);
            let _ = ids_tx.send(ids);
        }
    }

    /// Encrypts and sends at once the drafts of every recipient that can
    /// take an express send (see [`Engine::send_texts`]); returns, per such
    /// recipient, where to deliver the outbox ids once committed.
    fn send_express(
        &mut self,
        drafts: &mut [Draft],
    ) -> HashMap<[u8; 32], oneshot::Sender<Vec<u64>>> {
        let mut counts: HashMap<[u8; 32], u32> = HashMap::new();
        for draft in drafts.iter() {
            *counts.entry(draft.contact).or_default() += 1;
        }
        let mut express = HashMap::new();
        for (contact, count) in counts {
            let ready = self.outbox.is_idle(&contact)
                && self
                    .books
                    .get(&contact)
                    .is_some_and(|book| book.reserved_sending_keys() >= count);
            if !ready {
                continue;
            }
            let Some(book) = self.books.get_mut(&contact) else {
                continue;
            };
            let mut envelopes = Vec::new();
            let mut failed = false;
            for draft in drafts.iter_mut().filter(|d| d.contact == contact) {
                match encrypt_envelope(book, &draft.content) {
                    Ok(envelope) => {
                        envelopes.push(envelope.clone());
                        draft.envelope = Some(envelope);
                    }
                    Err(_) => failed = true,
                }
            }
            if failed {
                // Encrypted again in the transaction (the keys used here are
                // skipped by the recipient).
                for draft in drafts.iter_mut().filter(|d| d.contact == contact) {
                    draft.envelope = None;
                }
                continue;
            }
            book.reserve_sending_keys(RESERVED_SENDING_KEYS);
            self.outbox.begin_express(contact);
            let (ids_tx, ids_rx) = oneshot::channel();
            self.dispatch(contact, envelopes, ids_rx);
            express.insert(contact, ids_tx);
        }
        express
    }
}

/// Encrypts a payload for the book's contact into an envelope frame.
fn encrypt_envelope(book: &mut SessionBook, content: &[u8]) -> Result<Vec<u8>, NodeError> {
    let envelope = match book.encrypt(content, &mut rand::rng()) {
        Ok(OutboundMessage::Prekey(message)) => Envelope::Prekey { message },
        Ok(OutboundMessage::Normal(message)) => Envelope::Message { message },
        Err(error) => return Err(NodeError::Session(error)),
    };
    envelope
        .to_bytes()
        .map_err(|_| NodeError::InvalidArgument("text"))
}

/// What a finished send changes for one entry.
enum Verdict {
    Delivered,
    Rejected(u16),
}

impl Engine {
    /// Stores the acknowledged sends that are waiting (see `acked`) in a
    /// transaction of their own; on failure they wait for the next one.
    pub(crate) async fn flush_acked(&mut self) {
        if self.acked.is_empty() {
            return;
        }
        let entries = self.acked.take();
        let copy = entries.clone();
        if let Err(error) = self.store.write(move |tx| acked::apply(tx, &entries)).await {
            warn!(%error, "storing acknowledgements failed; will retry");
            self.acked.restore(copy, Instant::now());
        }
    }

    /// A batch send finished: apply the acknowledgements (one transaction),
    /// then back off or go on.
    pub(crate) async fn send_finished(
        &mut self,
        recipient: [u8; 32],
        ids: Vec<u64>,
        result: Result<Vec<Ack>, SendError>,
    ) {
        let now = Instant::now();
        let acks = match result {
            Ok(acks) => acks,
            Err(error) => {
                debug!(%error, "send failed");
                self.addressed.remove(&recipient);
                // Unreachable: leave the batch in the contact's mailbox on
                // one of its relays, if it has any.
                if self.deposit(recipient, &ids) {
                    return;
                }
                self.attempt_failed(recipient, now, &error.to_string())
                    .await;
                return;
            }
        };
        let mut verdicts = Vec::new();
        let mut pending = false;
        for (id, ack) in ids.iter().zip(acks) {
            match ack {
                Ack::Stored => verdicts.push((*id, Verdict::Delivered)),
                Ack::Rejected(reject::PENDING) => pending = true,
                Ack::Rejected(code) => verdicts.push((*id, Verdict::Rejected(code))),
            }
        }
        let mut changes = Vec::new();
        if let Some(queue) = self.outbox.queues.get(&recipient) {
            for (id, verdict) in verdicts {
                if let Some(entry) = queue.entries.get(&id) {
                    changes.push((id, entry.message, verdict));
                }
            }
        }
        let read_early: Vec<bool> = changes
            .iter()
            .map(|(_, m, _)| m.is_some_and(|m| self.read_early.contains(&m.id)))
            .collect();
        let plan: Vec<(u64, Option<[u8; 16]>, Option<MessageStatus>)> = changes
            .iter()
            .zip(&read_early)
            .map(|((id, message, verdict), early)| {
                let status = match verdict {
                    Verdict::Delivered if *early => None,
                    Verdict::Delivered => Some(MessageStatus::Delivered),
                    Verdict::Rejected(code) => {
                        Some(MessageStatus::Failed(reject::describe(*code).to_owned()))
                    }
                };
                (*id, message.map(|m| m.id), status)
            })
            .collect();
        // Pipelining: the acknowledged entries leave the queue and the next
        // batch goes out before the statuses are committed. If that commit
        // fails, they go back (and are resent: the recipient acknowledges
        // duplicates).
        // A rejected request or receipt (no message) cannot be retried by
        // the user: it is dropped like a delivered one.
        let mut removed = Vec::new();
        for (id, message, verdict) in &changes {
            match verdict {
                Verdict::Rejected(_) if message.is_some() => {
                    self.outbox.park_from_queue(&recipient, *id);
                }
                _ => {
                    for entry in self.outbox.remove(&recipient, &[*id]) {
                        removed.push((*id, entry));
                    }
                }
            }
        }
        if !pending {
            self.outbox.finish(&recipient, false, now);
            self.pump();
        }
        let all_delivered = changes
            .iter()
            .all(|(_, _, verdict)| matches!(verdict, Verdict::Delivered));
        if all_delivered && !pending {
            // The common case: report at once, store with the next
            // transaction (see `acked`).
            self.acked.push(
                plan.iter().map(|(id, message, status)| AckedEntry {
                    outbox: *id,
                    message: status.as_ref().and(*message),
                }),
                now,
            );
            self.report_verdicts(changes, read_early);
            return;
        }
        let stored = self
            .store
            .write(move |tx| {
                for (id, message, status) in plan {
                    match &status {
                        Some(MessageStatus::Failed(_)) if message.is_some() => {
                            // Parked: kept for a retry, never due.
                            tx.outbox_reschedule(id, 0, u64::MAX)?;
                        }
                        _ => {
                            tx.outbox_remove(id)?;
                        }
                    }
                    if let (Some(message), Some(status)) = (message, status) {
                        match tx.set_status(&message, status) {
                            Ok(()) | Err(StoreError::MessageNotFound) => {}
                            Err(other) => return Err(other),
                        }
                    }
                }
                Ok(())
            })
            .await;
        if let Err(error) = stored {
            warn!(%error, "recording acknowledgements failed; will resend");
            for (id, entry) in removed {
                self.outbox.push(recipient, id, entry);
            }
            for (_, message, verdict) in &changes {
                if let (Verdict::Rejected(_), Some(message)) = (verdict, message) {
                    self.outbox.unpark(&message.id);
                }
            }
            if pending {
                self.attempt_failed(recipient, now, "local storage failed")
                    .await;
            }
            return;
        }
        self.report_verdicts(changes, read_early);
        if pending {
            self.attempt_failed(recipient, now, reject::describe(reject::PENDING))
                .await;
        }
    }

    /// Emits the status events of applied verdicts.
    fn report_verdicts(
        &mut self,
        changes: Vec<(u64, Option<MessageRef>, Verdict)>,
        read_early: Vec<bool>,
    ) {
        for ((_, message, verdict), early) in changes.into_iter().zip(read_early) {
            let Some(message) = message else {
                continue;
            };
            match verdict {
                Verdict::Delivered => {
                    self.read_early.remove(&message.id);
                    if message.visible && !early {
                        self.emit(NodeEvent::StatusChanged {
                            group: None,
                            member: None,
                            id: hex::encode(message.id),
                            conversation: message.conversation,
                            status: Status::Delivered,
                            detail: None,
                        });
                    }
                }
                Verdict::Rejected(code) => {
                    if message.visible {
                        self.emit(NodeEvent::StatusChanged {
                            group: None,
                            member: None,
                            id: hex::encode(message.id),
                            conversation: message.conversation,
                            status: Status::Failed,
                            detail: Some(reject::describe(code).to_owned()),
                        });
                    }
                }
            }
        }
    }

    /// An attempt failed: back off; persist the head's attempts; give the
    /// head up after [`MAX_SEND_ATTEMPTS`].
    pub(crate) async fn attempt_failed(&mut self, recipient: [u8; 32], now: Instant, reason: &str) {
        let Some((head, attempts, exhausted)) = self.outbox.finish(&recipient, true, now) else {
            return;
        };
        let message = self
            .outbox
            .queues
            .get(&recipient)
            .and_then(|q| q.entries.get(&head))
            .and_then(|e| e.message);
        let next_retry = if exhausted {
            u64::MAX
        } else {
            now_ms().saturating_add(
                u64::try_from(super::outbox::backoff(attempts).as_millis()).unwrap_or(u64::MAX),
            )
        };
        let detail = format!("gave up after {MAX_SEND_ATTEMPTS} attempts: {reason}");
        let failed = exhausted.then(|| MessageStatus::Failed(truncate(&detail)));
        let stored = self
            .store
            .write(move |tx| {
                if exhausted && message.is_none() {
                    // A request or receipt given up: nothing to retry.
                    tx.outbox_remove(head)?;
                } else {
                    tx.outbox_reschedule(head, attempts, next_retry)?;
                }
                if let (Some(message), Some(status)) = (message, failed) {
                    match tx.set_status(&message.id, status) {
                        Ok(()) | Err(StoreError::MessageNotFound) => {}
                        Err(other) => return Err(other),
                    }
                }
                Ok(())
            })
            .await;
        if let Err(error) = stored {
            warn!(%error, "recording a failed attempt failed");
            return;
        }
        if exhausted {
            self.outbox.park_from_queue(&recipient, head);
            if let Some(message) = message
                && message.visible
            {
                self.emit(NodeEvent::StatusChanged {
                    group: None,
                    member: None,
                    id: hex::encode(message.id),
                    conversation: message.conversation,
                    status: Status::Failed,
                    detail: Some(truncate(&detail)),
                });
            }
        }
    }

    /// After a batch committed: the messages its read receipts marked
    /// read (the marks were stored in the batch's transaction).
    pub(crate) fn read_applied(&mut self, marks: Vec<receive::ReadMark>) {
        for mark in marks {
            if mark.unacked {
                self.read_early.insert(mark.id);
            }
            if mark.visible {
                self.emit(NodeEvent::StatusChanged {
                    group: mark.group.map(|(g, _)| super::groups::group_text(&g)),
                    member: mark.group.and_then(|(_, m)| {
                        wren_crypto::IdentityKey::from_bytes(&m)
                            .ok()
                            .map(|k| k.peer_id().to_string())
                    }),
                    id: hex::encode(mark.id),
                    conversation: mark.conversation,
                    status: Status::Read,
                    detail: None,
                });
            }
        }
    }

    /// `retry`: a failed message goes back into its recipient's queue.
    pub(crate) async fn retry(&mut self, id: &str) -> Result<(), NodeError> {
        let bytes = parse_id(id)?;
        let parked = self
            .outbox
            .unpark(&bytes)
            .ok_or_else(|| NodeError::UnknownMessage(id.to_owned()))?;
        let now = now_ms();
        let outbox = parked.outbox;
        let stored = self
            .store
            .write(move |tx| {
                tx.outbox_reschedule(outbox, 0, now)?;
                match tx.set_status(&bytes, MessageStatus::Sending) {
                    Ok(()) | Err(StoreError::MessageNotFound) => Ok(()),
                    Err(other) => Err(other),
                }
            })
            .await;
        if let Err(error) = stored {
            // Put it back as it was.
            self.outbox
                .park_from_queue(&parked.recipient, parked.outbox);
            return Err(error.into());
        }
        self.addressed.remove(&parked.recipient);
        if let Some(message) = parked.entry.message
            && message.visible
        {
            self.emit(NodeEvent::StatusChanged {
                group: None,
                member: None,
                id: hex::encode(message.id),
                conversation: message.conversation,
                status: Status::Sending,
                detail: None,
            });
        }
        Ok(())
    }

    /// `conversations`: direct conversations with contacts and our
    /// groups' conversations, most recent first.
    pub(crate) async fn conversations(&mut self) -> Result<Vec<ConversationInfo>, NodeError> {
        self.flush_acked().await;
        let rows = self
            .store
            .read(|tx| {
                let mut out = Vec::new();
                for conversation in tx.conversations(MAX_CONVERSATIONS)? {
                    let Ok(conversation) = conversation else {
                        continue;
                    };
                    let mut last = None;
                    let page = tx.messages(conversation.id, None, Order::NewestFirst, 16)?;
                    for message in page.into_iter().flatten() {
                        if let Ok(Payload::Text(text)) = Payload::from_bytes(&message.content) {
                            let outgoing = message.direction == Direction::Outgoing;
                            last = Some((preview(&text.body), outgoing, message.sender));
                            break;
                        }
                    }
                    out.push((conversation, last));
                }
                Ok(out)
            })
            .await?;
        let me = self.me.public().peer_id().to_string();
        let mut groups: HashMap<u64, crate::types::GroupInfo> = self
            .group_list()
            .into_iter()
            .map(|group| (group.conversation, group))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|(conversation, last)| {
                let (contact, title, group) = match conversation.kind {
                    ConversationKind::Direct { contact } => {
                        let entry = self.contacts.get(&contact)?;
                        let title = alias_of(&entry.contact)
                            .or_else(|| {
                                (!entry.meta.name.is_empty()).then(|| entry.meta.name.clone())
                            })
                            .unwrap_or_else(|| entry.peer.to_string());
                        (entry.peer.to_string(), title, None)
                    }
                    ConversationKind::Group { .. } => {
                        let info = groups.remove(&conversation.id)?;
                        (info.id.clone(), info.name, Some(info.id))
                    }
                };
                let (last_preview, last_from) = match last {
                    Some((text, outgoing, sender)) => {
                        let from = if outgoing {
                            Some(me.clone())
                        } else {
                            wren_crypto::IdentityKey::from_bytes(&sender)
                                .ok()
                                .map(|key| key.peer_id().to_string())
                        };
                        (Some(text), from)
                    }
                    None => (None, None),
                };
                Some(ConversationInfo {
                    id: conversation.id,
                    contact,
                    title,
                    unread: conversation.unread,
                    last_activity: conversation.last_activity,
                    last_preview,
                    group,
                    last_from,
                })
            })
            .collect())
    }

    /// `history`: up to `limit` texts before `before`, oldest first; for a
    /// group, in the group order and before the message at `before`.
    pub(crate) async fn history(
        &mut self,
        contact: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageInfo>, NodeError> {
        self.flush_acked().await;
        let group = self.group_conversation(contact);
        let (key, their_peer) = match group {
            Some(_) => ([0u8; 32], String::new()),
            None => {
                let entry = self.resolve(contact)?;
                (entry.key.to_bytes(), entry.peer.to_string())
            }
        };
        let my_peer = self.me.public().peer_id().to_string();
        let limit = limit.min(MAX_HISTORY_PAGE);
        let (messages, receipts) = self
            .store
            .read(move |tx| {
                let mut out: Vec<Message> = Vec::new();
                let conversation = match group {
                    Some(conversation) => Some(conversation),
                    None => tx.direct_conversation(&key)?,
                };
                let Some(conversation) = conversation else {
                    return Ok((out, HashMap::new()));
                };
                let mut cursor = before;
                while out.len() < limit {
                    // A group's history is in the group order
                    // (docs/protocol.md §G9), a direct one in arrival order.
                    let page = match group {
                        Some(_) => tx.group_messages(
                            conversation,
                            cursor,
                            Order::NewestFirst,
                            limit.max(32),
                        )?,
                        None => {
                            tx.messages(conversation, cursor, Order::NewestFirst, limit.max(32))?
                        }
                    };
                    if page.is_empty() {
                        break;
                    }
                    for item in page {
                        let seq = match &item {
                            Ok(message) => message.seq,
                            Err(corrupt) => corrupt.seq,
                        };
                        cursor = Some(seq);
                        if let Ok(message) = item
                            && out.len() < limit
                            && matches!(Payload::from_bytes(&message.content), Ok(Payload::Text(_)))
                        {
                            out.push(message);
                        }
                    }
                    if group.is_none() && cursor.is_some_and(|c| c <= 1) {
                        break;
                    }
                }
                out.reverse();
                // Our group messages' receipt counts, read in the same
                // snapshot as the page.
                let ours: Vec<[u8; 16]> = match group {
                    Some(_) => out
                        .iter()
                        .filter(|message| message.direction == Direction::Outgoing)
                        .map(|message| message.id)
                        .collect(),
                    None => Vec::new(),
                };
                let counts = tx.group_receipt_counts(&ours)?;
                let receipts: HashMap<[u8; 16], ReceiptCounts> =
                    ours.into_iter().zip(counts).collect();
                Ok((out, receipts))
            })
            .await?;
        Ok(messages
            .into_iter()
            .filter_map(|message| {
                let Ok(Payload::Text(text)) = Payload::from_bytes(&message.content) else {
                    return None;
                };
                let outgoing = message.direction == Direction::Outgoing;
                let (mut status, detail) = status_of(&message.status);
                if status == Status::Sending && self.outbox.sent.contains(&message.id) {
                    status = Status::Sent;
                }
                Some(MessageInfo {
                    id: hex::encode(message.id),
                    conversation: message.conversation,
                    seq: message.seq,
                    from: if outgoing {
                        my_peer.clone()
                    } else if group.is_some() {
                        wren_crypto::IdentityKey::from_bytes(&message.sender)
                            .map(|key| key.peer_id().to_string())
                            .unwrap_or_default()
                    } else {
                        their_peer.clone()
                    },
                    outgoing,
                    text: text.body,
                    sent_at: message.sent_at,
                    received_at: message.received_at,
                    status,
                    detail,
                    delivered_to: receipts.get(&message.id).map(|counts| counts.delivered),
                    read_by: receipts.get(&message.id).map(|counts| counts.read),
                })
            })
            .collect())
    }

    /// `mark_read`: marks the conversation read to its end, and sends the
    /// contact a read receipt for the newly read incoming texts.
    pub(crate) async fn mark_read(&mut self, target: &str) -> Result<usize, NodeError> {
        self.flush_acked().await;
        let target = target.trim();
        if let Some(conversation) = self.group_conversation(target) {
            return self.mark_group_read(conversation).await;
        }
        if let Ok(id) = target.parse::<u64>()
            && self
                .groups
                .values()
                .any(|entry| entry.record.conversation == id && id != 0)
        {
            return self.mark_group_read(id).await;
        }
        let key = match target.parse::<u64>() {
            Ok(id) => {
                let conversation = self
                    .store
                    .read(move |tx| tx.conversation(id))
                    .await?
                    .ok_or_else(|| NodeError::UnknownConversation(target.to_owned()))?;
                match conversation.kind {
                    ConversationKind::Direct { contact }
                        if self.contacts.contains_key(&contact) =>
                    {
                        contact
                    }
                    _ => return Err(NodeError::UnknownConversation(target.to_owned())),
                }
            }
            Err(_) => self.resolve(target)?.key.to_bytes(),
        };
        let unread = self
            .store
            .read(move |tx| {
                let Some(id) = tx.direct_conversation(&key)? else {
                    return Ok(None);
                };
                let Some(conversation) = tx.conversation(id)? else {
                    return Ok(None);
                };
                let ids = unread_received(tx, &conversation, |message| {
                    matches!(Payload::from_bytes(&message.content), Ok(Payload::Text(_)))
                        .then_some(message.id)
                })?;
                Ok(Some((id, conversation.last_seq, ids)))
            })
            .await?;
        let Some((conversation, last_seq, ids)) = unread else {
            return Ok(0);
        };
        let count = ids.len();
        let cached = self.books.remove(&key);
        let now = now_ms();
        let result = self
            .store
            .write(move |tx| {
                tx.mark_read(conversation, last_seq)?;
                for id in &ids {
                    match tx.set_status(id, MessageStatus::Read) {
                        Ok(()) | Err(StoreError::MessageNotFound) => {}
                        Err(other) => return Err(other),
                    }
                }
                let mut book = match cached {
                    Some(book) => Some(book),
                    None => tx.session(&key)?,
                };
                let mut queued = Vec::new();
                if let Some(book) = book.as_mut() {
                    for chunk in ids.chunks(MAX_RECEIPT_IDS) {
                        let receipt = Payload::ReadReceipt(Receipt {
                            ids: chunk.iter().map(|id| MessageId::from(*id)).collect(),
                        });
                        if let Some(q) = receive::queue_control(tx, book, &receipt, now)? {
                            queued.push(q);
                        }
                    }
                }
                Ok((book, queued))
            })
            .await?;
        let (book, queued) = result;
        if let Some(book) = book {
            self.books.insert(key, book);
        }
        for q in queued {
            self.push_queued(key, q);
        }
        Ok(count)
    }
}

/// A failure reason within the store's bound.
fn truncate(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        if out.len() + c.len_utf8() > wren_store::MAX_FAILURE_REASON_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// The incoming messages of `conversation` after its read marker that are
/// still only `Received` (no read receipt sent yet), mapped by `pick`;
/// messages it maps to `None` are skipped. Shared by direct and group
/// conversations' "mark read".
pub(crate) fn unread_received<T>(
    tx: &wren_store::ReadTx<'_>,
    conversation: &wren_store::Conversation,
    mut pick: impl FnMut(&Message) -> Option<T>,
) -> Result<Vec<T>, StoreError> {
    let mut found = Vec::new();
    let mut cursor = Some(conversation.read_up_to);
    loop {
        let page = tx.messages(conversation.id, cursor, Order::OldestFirst, 1_000)?;
        if page.is_empty() {
            break;
        }
        for item in page {
            let Ok(message) = item else {
                continue;
            };
            cursor = Some(message.seq);
            if message.seq > conversation.last_seq {
                break;
            }
            if message.direction == Direction::Incoming
                && message.status == MessageStatus::Received
                && let Some(value) = pick(&message)
            {
                found.push(value);
            }
        }
        if cursor.is_some_and(|c| c >= conversation.last_seq) {
            break;
        }
    }
    Ok(found)
}
