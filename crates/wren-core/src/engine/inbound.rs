//! Inbound `/wren/dm/1` batches: gathered, committed, acknowledged and
//! reported.
//!
//! Batches from different contacts that queue up while the engine is busy
//! are committed together with the first one, in one store transaction
//! (group commit on the receiving side, as `send_text` has on the sending
//! side): after a group message its N − 1 members' delivery receipts cost
//! the sender a few commits instead of N − 1, and nothing else the engine
//! does waits behind N − 1 commits. Each batch is still processed as if
//! alone, in arrival order, and acknowledged the moment the one
//! transaction is durable. At most [`MAX_COALESCED_BATCHES`] batches and
//! [`MAX_COALESCED_ENVELOPES`] envelopes go into one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;
use tracing::{debug, warn};
use wren_crypto::IdentityKey;
use wren_net::{Ack, InboundReply, NetEvent, PeerId};

use super::groups::{self, GroupMap};
use super::receive::{self, BatchInput, BatchOutput};
use super::{ContactEntry, Engine, PendingRequest, acked, alias_of, intro, now_ms};
use crate::event::NodeEvent;
use crate::limits::{MAX_COALESCED_BATCHES, MAX_COALESCED_ENVELOPES};

/// One inbound batch: who sent it, its envelopes, and the request to
/// answer (`None` for a batch fetched from our relay mailbox).
pub(crate) type Batch = (PeerId, Vec<Vec<u8>>, Option<InboundReply>);

/// Takes from `source` the items that join a first item of `first_weight`
/// envelopes: while `joins` gives an item's weight (`None`: it cannot join)
/// and the batch and envelope limits hold. Returns them, and the item taken
/// that did not join, to be handled next.
pub(crate) fn gather<T>(
    mut source: impl FnMut() -> Option<T>,
    first_weight: usize,
    mut joins: impl FnMut(&T) -> Option<usize>,
) -> (Vec<T>, Option<T>) {
    let mut taken = Vec::new();
    let mut weight = first_weight;
    while taken.len() + 1 < MAX_COALESCED_BATCHES {
        let Some(item) = source() else {
            break;
        };
        match joins(&item) {
            Some(more) if weight.saturating_add(more) <= MAX_COALESCED_ENVELOPES => {
                weight += more;
                taken.push(item);
            }
            _ => return (taken, Some(item)),
        }
    }
    (taken, None)
}

/// Which batches join one from `first` in a transaction: batches from
/// contacts, one per sender. What a batch from anyone else means may depend
/// on what the batches before it change (a new contact, a pending request),
/// and one sender's batches stay in order. Gives a joining batch's weight,
/// its envelope count.
fn joiner(
    contacts: &HashMap<[u8; 32], ContactEntry>,
    first: PeerId,
) -> impl FnMut(&PeerId, usize) -> Option<usize> {
    let mut seen = HashSet::from([first]);
    move |peer, envelopes| {
        let contact =
            IdentityKey::from_peer_id(peer).is_ok_and(|key| contacts.contains_key(&key.to_bytes()));
        (contact && seen.insert(*peer)).then_some(envelopes)
    }
}

impl Engine {
    /// One inbound direct request, committed with the requests from other
    /// contacts queued right behind it. Returns the event taken from the
    /// queue that did not join, to be handled next.
    pub(crate) async fn direct_requests(
        &mut self,
        peer: PeerId,
        envelopes: Vec<Vec<u8>>,
        reply: InboundReply,
    ) -> Option<NetEvent> {
        let (more, next) = {
            let mut joins = joiner(&self.contacts, peer);
            let queue = &mut self.net_events;
            gather(
                || queue.try_recv().ok(),
                envelopes.len(),
                |event| match event {
                    NetEvent::DirectRequest {
                        peer, envelopes, ..
                    } => joins(peer, envelopes.len()),
                    _ => None,
                },
            )
        };
        let mut batches = Vec::with_capacity(more.len() + 1);
        batches.push((peer, envelopes, Some(reply)));
        for event in more {
            if let NetEvent::DirectRequest {
                peer,
                envelopes,
                reply,
            } = event
            {
                batches.push((peer, envelopes, Some(reply)));
            }
        }
        self.receive_batches(batches).await;
        next
    }

    /// Processes batches fetched from our relay mailbox, `(depositor,
    /// envelopes)` in the mailbox's order, in as few transactions as
    /// [`joiner`] and the limits allow. Returns whether all were stored
    /// (if not, nothing after the first failure was tried).
    pub(crate) async fn receive_mailbox_batches(
        &mut self,
        batches: Vec<(PeerId, Vec<Vec<u8>>)>,
    ) -> bool {
        let mut rest = batches.into_iter();
        let mut first = rest.next();
        while let Some((depositor, envelopes)) = first.take() {
            let (more, next) = {
                let mut joins = joiner(&self.contacts, depositor);
                gather(
                    || rest.next(),
                    envelopes.len(),
                    |(peer, envelopes)| joins(peer, envelopes.len()),
                )
            };
            first = next;
            let mut together = Vec::with_capacity(more.len() + 1);
            together.push((depositor, envelopes, None));
            together.extend(
                more.into_iter()
                    .map(|(peer, envelopes)| (peer, envelopes, None)),
            );
            if self
                .receive_batches(together)
                .await
                .iter()
                .any(Option::is_none)
            {
                return false;
            }
        }
        true
    }

    /// Processes batches from distinct senders in one transaction, in
    /// order, and reports what they stored. A batch sent directly (with its
    /// request) is acknowledged from the store thread the moment the
    /// transaction is durable, before the rest of this runs (or answered
    /// "busy" if nothing could be stored); a batch deposited in our
    /// mailbox (no request) is not acknowledged to anyone. If the shared
    /// transaction fails, each batch is tried again in a transaction of its
    /// own, so that a batch that cannot be stored holds up no other.
    /// Returns, per batch, one acknowledgement per envelope, or `None` when
    /// nothing could be stored.
    pub(crate) async fn receive_batches(&mut self, batches: Vec<Batch>) -> Vec<Option<Vec<Ack>>> {
        let mut results: Vec<Option<Vec<Ack>>> = Vec::with_capacity(batches.len());
        let mut heads = Vec::with_capacity(batches.len());
        let mut inputs = Vec::with_capacity(batches.len());
        // Together, each batch is kept for a transaction of its own.
        let shared = batches.len() > 1;
        let mut alone: Vec<(usize, Batch)> = Vec::new();
        for (index, (peer, envelopes, reply)) in batches.into_iter().enumerate() {
            if shared {
                alone.push((index, (peer, envelopes.clone(), reply.clone())));
            }
            match self.batch_input(&peer, envelopes, reply.is_none()) {
                Ok(input) => {
                    results.push(None);
                    heads.push((index, peer, input.sender, reply));
                    inputs.push(input);
                }
                Err(acks) => {
                    if let Some(reply) = reply {
                        self.answer(reply, Some(acks.clone()));
                    }
                    results.push(Some(acks));
                }
            }
        }
        if inputs.is_empty() {
            return results;
        }
        if inputs.len() > 1 {
            debug!(batches = inputs.len(), "inbound batches committed together");
        }
        // Pending delivered statuses go first: these batches may mark them
        // read.
        let acked = self.acked.take();
        let acked_copy = acked.clone();
        // So do the stored rows of watched texts every member confirmed.
        let unwatched = self.topics.take_unwatched();
        let unwatched_copy = unwatched.clone();
        let groups = std::mem::take(&mut self.groups);
        let net = self.net.clone();
        let direct: Vec<Option<InboundReply>> = heads.iter().map(|h| h.3.clone()).collect();
        let stored = self
            .store
            .write_then(
                move |tx| {
                    acked::apply(tx, &acked)?;
                    for (group, message) in &unwatched {
                        tx.remove_watched_publication(group, message)?;
                    }
                    let mut groups = groups;
                    let mut outputs = Vec::with_capacity(inputs.len());
                    for mut input in inputs {
                        // The batches before may have changed the groups.
                        input.group_peer = input.group_peer
                            && !intro::shared_groups(&groups, input.me.public(), &input.sender)
                                .is_empty();
                        input.groups = groups;
                        let mut output = receive::process(tx, input)?;
                        groups = std::mem::take(&mut output.groups);
                        outputs.push(output);
                    }
                    Ok((outputs, groups))
                },
                move |(outputs, _): &(Vec<BatchOutput>, GroupMap)| {
                    direct
                        .into_iter()
                        .zip(outputs)
                        .filter_map(|(reply, output)| {
                            reply.and_then(|reply| {
                                net.try_respond_direct(reply, output.acks.clone()).err()
                            })
                        })
                        .collect::<Vec<_>>()
                },
            )
            .await;
        match stored {
            Ok(((outputs, groups), unsent)) => {
                for (reply, acks) in unsent {
                    self.answer(reply, Some(acks));
                }
                self.groups = groups;
                for ((index, peer, sender, reply), output) in heads.into_iter().zip(outputs) {
                    let acks = self
                        .batch_committed(peer, sender, reply.is_none(), output)
                        .await;
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(acks);
                    }
                }
            }
            Err(error) => {
                self.acked.restore(acked_copy, Instant::now());
                self.topics.restore_unwatched(unwatched_copy);
                warn!(%error, batches = heads.len(), "storing inbound batches failed");
                self.reload_groups().await;
                if shared {
                    let tried: HashSet<usize> = heads.iter().map(|head| head.0).collect();
                    for (index, batch) in alone {
                        if !tried.contains(&index) {
                            continue;
                        }
                        let result = Box::pin(self.receive_batches(vec![batch]))
                            .await
                            .pop()
                            .flatten();
                        if let Some(slot) = results.get_mut(index) {
                            *slot = result;
                        }
                    }
                } else {
                    for (_, _, _, reply) in heads {
                        if let Some(reply) = reply {
                            self.answer(reply, None);
                        }
                    }
                }
            }
        }
        results
    }

    /// What the transaction needs to process a batch from `peer` (its
    /// `groups` are filled in the transaction), or the acknowledgements of
    /// a batch from a peer id that names no identity key.
    fn batch_input(
        &mut self,
        peer: &PeerId,
        envelopes: Vec<Vec<u8>>,
        from_mailbox: bool,
    ) -> Result<BatchInput, Vec<Ack>> {
        let Ok(sender) = IdentityKey::from_peer_id(peer) else {
            return Err(vec![
                Ack::Rejected(crate::limits::reject::UNKNOWN_SENDER);
                envelopes.len()
            ]);
        };
        let key = sender.to_bytes();
        let group_peer = key != self.my_key && self.is_group_peer(&key);
        let relation = if key == self.my_key {
            receive::Relation::Unknown
        } else if let Some(entry) = self.contacts.get(&key) {
            receive::Relation::Contact {
                contact: Box::new(entry.contact.clone()),
                meta: entry.meta.clone(),
            }
        } else if group_peer {
            receive::Relation::GroupPeer
        } else if self.requests.iter().any(|r| r.key == sender) {
            receive::Relation::Pending
        } else {
            receive::Relation::Unknown
        };
        Ok(BatchInput {
            me: Arc::clone(&self.me),
            prekeys: Arc::clone(&self.prekeys),
            sender,
            relation,
            book: self.books.remove(&key),
            envelopes,
            now_ms: now_ms(),
            pending_requests: self.requests.len(),
            from_mailbox,
            groups: GroupMap::new(),
            group_peer,
        })
    }

    /// Answers a direct request from a task of its own: its acknowledgements,
    /// or "busy" when nothing was stored.
    pub(crate) fn answer(&self, reply: InboundReply, acks: Option<Vec<Ack>>) {
        let net = self.net.clone();
        tokio::spawn(async move {
            let _ = match acks {
                Some(acks) => net.respond_direct(reply, acks).await,
                None => net.respond_direct_busy(reply).await,
            };
        });
    }

    /// After the transaction: takes in what one batch from `peer` changed
    /// and reports it. Returns the batch's acknowledgements.
    async fn batch_committed(
        &mut self,
        peer: PeerId,
        sender: IdentityKey,
        from_mailbox: bool,
        output: BatchOutput,
    ) -> Vec<Ack> {
        let key = sender.to_bytes();
        for event in output.group_events {
            self.emit(event);
        }
        if let Some(book) = output.book {
            self.books.insert(key, book);
        }
        if let Some(new) = output.new_request {
            self.requests.retain(|r| r.key != sender);
            self.requests.push(PendingRequest {
                key: sender,
                name: new.name.clone(),
                greeting: new.greeting,
                received_at: new.received_at,
            });
            self.emit(NodeEvent::ContactRequest {
                from: peer.to_string(),
                name: new.name,
            });
        }
        let mut alive = !from_mailbox && (!output.texts.is_empty() || !output.read.is_empty());
        if let Some((contact, meta)) = output.contact
            && let Some(entry) = self.contacts.get_mut(&key)
        {
            entry.contact = contact;
            entry.meta = meta;
            // Its addresses may have changed: give them to the network again.
            self.addressed.remove(&key);
            alive = true;
        }
        if output.accepted {
            self.emit(NodeEvent::ContactAccepted {
                contact: peer.to_string(),
            });
        }
        for queued in output.queued {
            self.push_queued(key, queued);
        }
        let alias = self.contacts.get(&key).and_then(|e| alias_of(&e.contact));
        for text in output.texts {
            self.emit(NodeEvent::MessageReceived {
                group: None,
                id: hex::encode(text.id),
                from: peer.to_string(),
                alias: alias.clone(),
                conversation: text.conversation,
                seq: text.seq,
                text: text.text,
                sent_at: text.sent_at,
            });
        }
        if alive {
            self.outbox.wake(&key);
        }
        for mark in output.delivered {
            if let Some((_, member)) = mark.group {
                self.topics.confirmed(&mark.id, &member);
            }
            if mark.visible {
                self.emit(NodeEvent::StatusChanged {
                    group: mark.group.map(|(g, _)| groups::group_text(&g)),
                    member: mark.group.and_then(|(_, m)| {
                        IdentityKey::from_bytes(&m)
                            .ok()
                            .map(|k| k.peer_id().to_string())
                    }),
                    id: hex::encode(mark.id),
                    conversation: mark.conversation,
                    status: crate::Status::Delivered,
                    detail: None,
                });
            }
        }
        for mark in &output.read {
            if let Some((_, member)) = mark.group {
                self.topics.confirmed(&mark.id, &member);
            }
        }
        self.read_applied(output.read);
        let mut group_messages = output.group_messages;
        for queued in std::mem::take(&mut group_messages.queued) {
            self.push_queued(key, queued);
        }
        self.pairwise_group_messages(&sender, alias, group_messages)
            .await;
        self.after_introductions(&sender, output.intro).await;
        if !output.groups_touched.is_empty() || !output.group_keys.is_empty() {
            self.after_batch(output.groups_touched, output.group_keys)
                .await;
        }
        output.acks
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;

    use super::*;

    /// A queue holding `items` (each a sender and an envelope count), as
    /// the engine's event queue holds direct requests.
    fn queue(items: &[(u8, usize)]) -> mpsc::Receiver<(u8, usize)> {
        let (tx, rx) = mpsc::channel(items.len().max(1));
        for item in items {
            tx.try_send(*item).unwrap();
        }
        rx
    }

    /// A batch: its sender and envelope count.
    type Item = (u8, usize);

    fn gather_from(
        rx: &mut mpsc::Receiver<Item>,
        first_weight: usize,
    ) -> (Vec<Item>, Option<Item>) {
        gather(|| rx.try_recv().ok(), first_weight, joins)
    }

    /// Items of sender 0 never join, as a direct request from a
    /// non-contact does not.
    fn joins(item: &(u8, usize)) -> Option<usize> {
        (item.0 != 0).then_some(item.1)
    }

    #[test]
    fn gathers_what_is_queued_up_to_the_batch_limit() {
        let items: Vec<(u8, usize)> = (0..MAX_COALESCED_BATCHES + 5).map(|_| (1, 1)).collect();
        let mut rx = queue(&items);
        let (taken, next) = gather_from(&mut rx, 1);
        // With the first item, exactly the limit; the rest stays queued.
        assert_eq!(taken.len() + 1, MAX_COALESCED_BATCHES);
        assert!(next.is_none());
        assert_eq!(rx.len(), 6);
    }

    #[test]
    fn stops_at_the_envelope_limit_and_hands_back_the_item_that_did_not_fit() {
        let half = MAX_COALESCED_ENVELOPES / 2;
        let mut rx = queue(&[(1, half), (2, half - 10), (3, 11), (4, 1)]);
        let (taken, next) = gather_from(&mut rx, 10);
        // 10 + half + (half − 10) is exactly the limit; 11 more is over.
        assert_eq!(taken, vec![(1, half), (2, half - 10)]);
        assert_eq!(next, Some((3, 11)));
        assert_eq!(rx.len(), 1);
    }

    #[test]
    fn an_item_that_cannot_join_ends_the_gathering() {
        let mut rx = queue(&[(1, 1), (0, 1), (2, 1)]);
        let (taken, next) = gather_from(&mut rx, 1);
        assert_eq!(taken, vec![(1, 1)]);
        assert_eq!(next, Some((0, 1)));
        assert_eq!(rx.len(), 1);
    }

    #[test]
    fn an_empty_queue_gives_nothing() {
        let mut rx = queue(&[]);
        let (taken, next) = gather_from(&mut rx, MAX_COALESCED_ENVELOPES);
        assert!(taken.is_empty());
        assert!(next.is_none());
    }
}
