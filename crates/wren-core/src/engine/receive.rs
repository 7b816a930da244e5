//! Processing one inbound `/wren/dm/1` batch inside one store write
//! transaction (runs on the store thread).
//!
//! Every envelope gets exactly one acknowledgement, in order. Nothing here
//! panics on untrusted input: every decoder is bounded and every failure is
//! a rejection code (see [`crate::limits::reject`]). A store error aborts
//! the whole transaction (the engine then answers "busy", so the sender
//! retries the batch).

use std::sync::Arc;

use wren_crypto::{
    IdentityKey, IdentityKeyPair, OneTimePrekeyPair, PairingCode, PrekeyMessage, SessionBook,
    SessionError, SignedPrekeys,
};
use wren_net::Ack;
use wren_proto::{ContactRequest, Envelope, MessageId, Payload, Receipt, Versioned};
use wren_store::{
    Contact, ConversationKind, Direction, GroupReceipt, Incoming, IncomingOutcome, MessageStatus,
    NewMessage, NewOutbox, StoreError, StoredContactRequest, WriteTx,
};

use super::groups::{self, GroupMap, OpOutcome};
use super::intro::{self, HelloRefusal};
use super::meta::{self, ContactMeta, StoredState};
use crate::event::NodeEvent;
use crate::limits::{MAX_PENDING_REQUESTS, RESERVED_SENDING_KEYS, reject};

/// How the batch's sender relates to us when the batch arrives.
pub(crate) enum Relation {
    /// A contact: its record and our record about it.
    Contact {
        contact: Box<Contact>,
        meta: ContactMeta,
    },
    /// A group peer: a member of a group we are in, not a contact
    /// (docs/protocol.md §G13).
    GroupPeer,
    /// Its contact request waits for the user's decision.
    Pending,
    /// Neither.
    Unknown,
}

/// Everything the transaction needs, owned (it runs on the store thread).
pub(crate) struct BatchInput {
    pub(crate) me: Arc<IdentityKeyPair>,
    pub(crate) prekeys: Arc<SignedPrekeys>,
    pub(crate) sender: IdentityKey,
    pub(crate) relation: Relation,
    /// The sender's session book from the engine's cache, if cached.
    pub(crate) book: Option<SessionBook>,
    pub(crate) envelopes: Vec<Vec<u8>>,
    pub(crate) now_ms: u64,
    /// How many contact requests are pending.
    pub(crate) pending_requests: usize,
    /// Fetched from our relay mailbox: the sender is not waiting for an
    /// acknowledgement, so the texts stored are confirmed with an
    /// end-to-end delivery receipt queued in the same transaction.
    pub(crate) from_mailbox: bool,
    /// The engine's groups, moved in for the transaction and handed back
    /// in [`BatchOutput::groups`].
    pub(crate) groups: GroupMap,
    /// The sender is a contact that is also a group peer of ours: its group
    /// payloads do not confirm a contact request still pending.
    pub(crate) group_peer: bool,
}

/// A text stored by the batch.
pub(crate) struct ReceivedText {
    pub(crate) id: [u8; 16],
    pub(crate) conversation: u64,
    pub(crate) seq: u64,
    pub(crate) text: String,
    pub(crate) sent_at: u64,
}

/// An envelope without a message (a contact request or a receipt) queued
/// in the outbox.
pub(crate) struct Queued {
    pub(crate) outbox: u64,
    pub(crate) envelope: Vec<u8>,
}

/// An outgoing message a read receipt in the batch marked read.
pub(crate) struct ReadMark {
    pub(crate) id: [u8; 16],
    pub(crate) conversation: u64,
    /// A text (only texts emit an event).
    pub(crate) visible: bool,
    /// Not yet acknowledged by the contact when it was marked.
    pub(crate) unacked: bool,
    /// For a group message: the group and the member whose receipt it is.
    pub(crate) group: Option<([u8; 32], [u8; 32])>,
}

/// A contact request the batch stored.
pub(crate) struct NewRequest {
    pub(crate) name: String,
    pub(crate) greeting: Option<String>,
    pub(crate) received_at: u64,
}

/// What the committed transaction did.
pub(crate) struct BatchOutput {
    pub(crate) acks: Vec<Ack>,
    /// The sender's book after the batch (if it has one).
    pub(crate) book: Option<SessionBook>,
    pub(crate) texts: Vec<ReceivedText>,
    /// Our messages marked read by the contact's read receipts (applied
    /// in the batch's transaction).
    pub(crate) read: Vec<ReadMark>,
    /// Our relayed messages the contact's delivery receipts marked
    /// delivered (applied in the batch's transaction).
    pub(crate) delivered: Vec<ReadMark>,
    pub(crate) new_request: Option<NewRequest>,
    /// The contact's records after the batch, if they changed.
    pub(crate) contact: Option<(Contact, ContactMeta)>,
    /// The contact went from pending to added in this batch.
    pub(crate) accepted: bool,
    pub(crate) queued: Vec<Queued>,
    /// The groups, handed back.
    pub(crate) groups: GroupMap,
    /// Groups whose ops changed in this batch (to reconcile next).
    pub(crate) groups_touched: std::collections::HashSet<[u8; 32]>,
    /// Groups for which a member's chain arrived.
    pub(crate) group_keys: std::collections::HashSet<[u8; 32]>,
    /// Group events to emit once committed.
    pub(crate) group_events: Vec<NodeEvent>,
    /// Group messages that came over the session (`Payload::GroupMessage`).
    pub(crate) group_messages: groups::PairwiseGroupOutput,
    /// Introductions, hellos and group peers' profiles (§G13).
    pub(crate) intro: intro::IntroOutput,
}

/// What one decrypted envelope carried.
struct Opened {
    /// The decoded payload (`Err` if the plaintext is not a payload frame).
    payload: Result<Payload, ()>,
    /// The plaintext: the payload frame as received.
    content: Vec<u8>,
    /// The one-time prekey a new session consumed, if any.
    consumed: Option<(u32, OneTimePrekeyPair)>,
}

/// Why an envelope was not opened.
enum Refused {
    /// Already processed: acknowledge as stored.
    Duplicate,
    /// Refused with this code.
    Code(u16),
}

fn session_refusal(error: &SessionError) -> Refused {
    match error {
        SessionError::Replay => Refused::Duplicate,
        SessionError::Malformed(_) => Refused::Code(reject::MALFORMED),
        _ => Refused::Code(reject::UNDECRYPTABLE),
    }
}

/// A copy of a book (books are not `Clone`: they hold secrets).
fn copy_book(book: &SessionBook) -> Option<SessionBook> {
    SessionBook::from_bytes(&book.to_bytes()).ok()
}

/// Opens an envelope with `book`, taking the named one-time prekey for a
/// new session (and putting it back if it was not used). The book is
/// changed only if the envelope decrypts.
fn open(
    tx: &mut WriteTx<'_>,
    input: &BatchInput,
    book: &mut SessionBook,
    envelope: &Envelope,
) -> Result<Result<Opened, Refused>, StoreError> {
    let now_secs = input.now_ms / 1_000;
    let (content, consumed) = match envelope {
        Envelope::Prekey { message } => {
            let Ok(message) = PrekeyMessage::parse(message) else {
                return Ok(Err(Refused::Code(reject::MALFORMED)));
            };
            if message.identity() != &input.sender {
                return Ok(Err(Refused::Code(reject::BAD_REQUEST)));
            }
            let signed = input.prekeys.get(message.signed_prekey_id(), now_secs);
            let one_time = match message.one_time_prekey_id() {
                Some(id) => tx.take_one_time_prekey(id)?.map(|pair| (id, pair)),
                None => None,
            };
            let outcome = book.receive_prekey(
                &input.me,
                signed,
                one_time.as_ref().map(|(_, p)| p),
                &message,
            );
            match outcome {
                Ok(outcome) if outcome.new_session => (outcome.plaintext, one_time),
                Ok(outcome) => {
                    if let Some((id, pair)) = &one_time {
                        tx.put_one_time_prekey(*id, pair)?;
                    }
                    (outcome.plaintext, None)
                }
                Err(error) => {
                    if let Some((id, pair)) = &one_time {
                        tx.put_one_time_prekey(*id, pair)?;
                    }
                    return Ok(Err(session_refusal(&error)));
                }
            }
        }
        Envelope::Message { message } => match book.decrypt(message) {
            Ok(plaintext) => (plaintext, None),
            Err(error) => return Ok(Err(session_refusal(&error))),
        },
        Envelope::Group { .. } | Envelope::Mailbox(_) => {
            return Ok(Err(Refused::Code(reject::UNSUPPORTED)));
        }
    };
    let payload = Payload::from_bytes(&content).map_err(|_| ());
    Ok(Ok(Opened {
        payload,
        content,
        consumed,
    }))
}

/// Checks a contact request: its pairing code parses, is validly signed and
/// names the sender. Returns the parsed code.
fn check_request(request: &ContactRequest, sender: &IdentityKey) -> Option<PairingCode> {
    check_code(&request.pairing_code, sender)
}

/// Parses and verifies a pairing code that must name `sender`.
fn check_code(code: &str, sender: &IdentityKey) -> Option<PairingCode> {
    let code = PairingCode::parse(code).ok()?;
    (code.identity() == sender).then_some(code)
}

/// The contact's known addresses after learning `code`'s hints (bounded).
pub(crate) fn merge_hints(contact: &mut Contact, code: &PairingCode) {
    for hint in code.hints() {
        let (list, text) = match hint {
            wren_crypto::NetworkHint::Address(text) => (&mut contact.addresses, text),
            wren_crypto::NetworkHint::Relay(text) => (&mut contact.relays, text),
        };
        if text.len() <= wren_store::MAX_ADDRESS_BYTES && !list.contains(text) {
            list.insert(0, text.clone());
            list.truncate(wren_store::MAX_CONTACT_ADDRESSES);
        }
    }
}

/// Encrypts `payload` (a contact request or a receipt) for the book's
/// contact and queues it: the outbox entry commits with the ratchet step
/// that produced it, and no message is recorded.
pub(crate) fn queue_control(
    tx: &mut WriteTx<'_>,
    book: &mut SessionBook,
    payload: &Payload,
    now_ms: u64,
) -> Result<Option<Queued>, StoreError> {
    let contact = book.remote_identity().to_bytes();
    let Ok(content) = payload.to_bytes() else {
        return Ok(None);
    };
    let Ok(message) = book.encrypt(&content, &mut rand::rng()) else {
        return Ok(None);
    };
    let envelope = match message {
        wren_crypto::OutboundMessage::Prekey(message) => Envelope::Prekey { message },
        wren_crypto::OutboundMessage::Normal(message) => Envelope::Message { message },
    };
    let Ok(envelope) = envelope.to_bytes() else {
        return Ok(None);
    };
    let outbox = tx.enqueue(
        book,
        NewOutbox {
            recipient: contact,
            envelope: envelope.clone(),
            next_retry_ms: now_ms,
        },
    )?;
    Ok(Some(Queued { outbox, envelope }))
}

/// A fresh random message id.
pub(crate) fn random_id() -> [u8; 16] {
    use rand::Rng;
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    id
}

/// Processes the batch. Returns `Err` only for store failures (the
/// transaction is then aborted).
pub(crate) fn process(
    tx: &mut WriteTx<'_>,
    mut input: BatchInput,
) -> Result<BatchOutput, StoreError> {
    let sender = input.sender.to_bytes();
    let mut out = BatchOutput {
        acks: Vec::with_capacity(input.envelopes.len()),
        book: None,
        texts: Vec::new(),
        read: Vec::new(),
        delivered: Vec::new(),
        new_request: None,
        contact: None,
        accepted: false,
        queued: Vec::new(),
        groups: GroupMap::new(),
        groups_touched: std::collections::HashSet::new(),
        group_keys: std::collections::HashSet::new(),
        group_events: Vec::new(),
        group_messages: groups::PairwiseGroupOutput::default(),
        intro: intro::IntroOutput::default(),
    };
    let mut book = match input.book.take() {
        Some(book) => Some(book),
        None => tx.session(&sender)?,
    };
    let mut book_changed = false;
    let envelopes = std::mem::take(&mut input.envelopes);
    for bytes in &envelopes {
        let ack = match Envelope::from_bytes(bytes) {
            Err(_) => Ack::Rejected(reject::MALFORMED),
            Ok(envelope) => match &mut input.relation {
                Relation::Contact { .. } => {
                    // A contact without a stored session (its state was
                    // lost) can still start a new one with a prekey message.
                    let current = book.get_or_insert_with(|| SessionBook::new(input.sender));
                    from_contact(
                        tx,
                        &mut input,
                        current,
                        &envelope,
                        &mut out,
                        &mut book_changed,
                    )?
                }
                Relation::GroupPeer => {
                    let current = book.get_or_insert_with(|| SessionBook::new(input.sender));
                    from_group_peer(
                        tx,
                        &mut input,
                        current,
                        &envelope,
                        &mut out,
                        &mut book_changed,
                    )?
                }
                Relation::Pending => from_pending(&input, book.as_ref(), &envelope),
                Relation::Unknown => {
                    let (ack, new_book) = from_unknown(tx, &mut input, &envelope, &mut out)?;
                    if let Some((new_book, relation)) = new_book {
                        book = Some(new_book);
                        book_changed = true;
                        input.relation = relation;
                    }
                    ack
                }
            },
        };
        out.acks.push(ack);
    }
    if input.from_mailbox
        && !out.texts.is_empty()
        && let Some(book) = book.as_mut()
    {
        let ids: Vec<MessageId> = out.texts.iter().map(|t| MessageId::from(t.id)).collect();
        for chunk in ids.chunks(wren_proto::limits::MAX_RECEIPT_IDS) {
            let receipt = Payload::DeliveryReceipt(Receipt {
                ids: chunk.to_vec(),
            });
            if let Some(queued) = queue_control(tx, book, &receipt, input.now_ms)? {
                out.queued.push(queued);
            }
        }
        book_changed = true;
    }
    if book_changed && let Some(book) = book.as_mut() {
        // Ready the sending chain of our next message now and reserve its
        // keys, so that it can leave before its own commit (see
        // `Session::reserve_sending_keys`). An error here resurfaces at
        // the next encryption.
        let _ = book.prepare_sending_chain(&mut rand::rng());
        book.reserve_sending_keys(RESERVED_SENDING_KEYS);
        tx.set_session(book)?;
    }
    out.book = book;
    out.groups = std::mem::take(&mut input.groups);
    Ok(out)
}

/// An envelope from a contact.
fn from_contact(
    tx: &mut WriteTx<'_>,
    input: &mut BatchInput,
    book: &mut SessionBook,
    envelope: &Envelope,
    out: &mut BatchOutput,
    book_changed: &mut bool,
) -> Result<Ack, StoreError> {
    let opened = match open(tx, input, book, envelope)? {
        Ok(opened) => opened,
        Err(Refused::Duplicate) => return Ok(Ack::Stored),
        Err(Refused::Code(code)) => return Ok(Ack::Rejected(code)),
    };
    // The ratchet moved: the book must be stored whatever the payload is.
    *book_changed = true;
    let Relation::Contact { contact, meta } = &mut input.relation else {
        return Ok(Ack::Rejected(reject::UNKNOWN_SENDER));
    };
    // Any authenticated message from the contact means it has us as a
    // contact too.
    let confirm = |meta: &mut ContactMeta, out: &mut BatchOutput| {
        if meta.state == StoredState::Pending {
            meta.state = StoredState::Added;
            out.accepted = true;
        }
    };
    let payload = match opened.payload {
        Ok(payload) => payload,
        Err(()) => return Ok(Ack::Rejected(reject::BAD_PAYLOAD)),
    };
    let sender = input.sender.to_bytes();
    match payload {
        Payload::Text(text) => {
            confirm(meta, out);
            let conversation = tx.direct_conversation(&sender, input.now_ms)?;
            let outcome = tx.record_incoming(Incoming {
                conversation,
                session: book,
                message: NewMessage {
                    id: *text.id.as_bytes(),
                    sender,
                    sent_at: text.sent_at.as_millis(),
                    received_at: input.now_ms,
                    content: opened.content,
                    status: MessageStatus::Received,
                },
                receipt: None,
            })?;
            if let IncomingOutcome::Stored { seq, .. } = outcome {
                out.texts.push(ReceivedText {
                    id: *text.id.as_bytes(),
                    conversation,
                    seq,
                    text: text.body,
                    sent_at: text.sent_at.as_millis(),
                });
            }
            Ok(Ack::Stored)
        }
        Payload::ReadReceipt(Receipt { ids }) => {
            confirm(meta, out);
            for id in &ids {
                if let Some(mark) = mark_receipt(
                    tx,
                    &input.groups,
                    &sender,
                    *id.as_bytes(),
                    MessageStatus::Read,
                    false,
                )? {
                    out.read.push(mark);
                }
            }
            Ok(Ack::Stored)
        }
        Payload::DeliveryReceipt(Receipt { ids }) => {
            // Sent when the contact accepts our request (naming the
            // request), and for messages it fetched from a relay mailbox.
            confirm(meta, out);
            for id in &ids {
                if let Some(mark) = mark_receipt(
                    tx,
                    &input.groups,
                    &sender,
                    *id.as_bytes(),
                    MessageStatus::Delivered,
                    false,
                )? {
                    out.delivered.push(mark);
                }
            }
            Ok(Ack::Stored)
        }
        Payload::Profile(profile) => {
            let Some(code) = check_code(&profile.pairing_code, &input.sender) else {
                return Ok(Ack::Rejected(reject::BAD_REQUEST));
            };
            confirm(meta, out);
            meta.name = code.display_name().to_owned();
            meta::write_contact_code(tx, &sender, &code.to_uri())?;
            // The code lists every way to reach the contact now.
            contact.addresses.clear();
            contact.relays.clear();
            merge_hints(contact, &code);
            tx.put_contact(&sender, contact)?;
            meta::write_contact_meta(tx, &sender, meta)?;
            out.contact = Some((Contact::clone(contact), meta.clone()));
            Ok(Ack::Stored)
        }
        Payload::ContactRequest(request) => {
            let Some(code) = check_request(&request, &input.sender) else {
                return Ok(Ack::Rejected(reject::BAD_REQUEST));
            };
            // We had added the sender ourselves: accept automatically.
            confirm(meta, out);
            meta.name = code.display_name().to_owned();
            merge_hints(contact, &code);
            meta::write_contact_code(tx, &sender, &code.to_uri())?;
            let accept = Payload::DeliveryReceipt(Receipt {
                ids: vec![request.id],
            });
            if let Some(queued) = queue_control(tx, book, &accept, input.now_ms)? {
                out.queued.push(queued);
            }
            tx.put_contact(&sender, contact)?;
            meta::write_contact_meta(tx, &sender, meta)?;
            out.contact = Some((Contact::clone(contact), meta.clone()));
            Ok(Ack::Stored)
        }
        Payload::GroupOp { .. }
        | Payload::GroupSenderKey(_)
        | Payload::GroupMessage { .. }
        | Payload::GroupIntroduction(_) => {
            if !input.group_peer {
                confirm(meta, out);
            }
            let me = *input.me.public();
            let arrival = groups::Arrival {
                me: &me,
                from: &input.sender,
                now: input.now_ms,
            };
            group_payload(tx, &mut input.groups, &arrival, book, payload, out)
        }
        // A hello from someone who is a contact by now: nothing to do.
        Payload::GroupPeerHello(_) => Ok(Ack::Stored),
        // Reserved; groups use `GroupSenderKey` (docs/protocol.md §G6).
        Payload::SenderKeyDistribution { .. } => Ok(Ack::Rejected(reject::UNSUPPORTED)),
    }
    .and_then(|ack| {
        if out.accepted && out.contact.is_none() {
            meta::write_contact_meta(tx, &sender, meta)?;
            out.contact = Some((Contact::clone(contact), meta.clone()));
        }
        Ok(ack)
    })
}

/// Applies one id of a delivery receipt (`to` = delivered) or a read
/// receipt (`to` = read) from `contact`, in the transaction that decrypted
/// it: only to our outgoing messages in the direct conversation with that
/// contact whose status moves forward by it (`sending`, `sent` or `relayed`
/// to either; `delivered` to read), or in a group conversation of which the
/// contact is a member (every member's receipt is reported, the stored
/// status moves forward with the first). An id that names nothing suitable
/// (a contact request's id, an unreadable record) is skipped; so is any
/// direct message when `groups_only` (the sender is a group peer).
fn mark_receipt(
    tx: &mut WriteTx<'_>,
    groups: &GroupMap,
    contact: &[u8; 32],
    id: [u8; 16],
    to: MessageStatus,
    groups_only: bool,
) -> Result<Option<ReadMark>, StoreError> {
    let Ok(Some(message)) = tx.message_by_id(&id) else {
        return Ok(None);
    };
    if message.direction != Direction::Outgoing {
        return Ok(None);
    }
    let unacked = matches!(
        message.status,
        MessageStatus::Sending | MessageStatus::Sent | MessageStatus::Relayed
    );
    let forward =
        unacked || (to == MessageStatus::Read && message.status == MessageStatus::Delivered);
    let Ok(Some(conversation)) = tx.conversation(message.conversation) else {
        return Ok(None);
    };
    let group = match &conversation.kind {
        ConversationKind::Direct { contact: c } if c == contact && !groups_only => None,
        ConversationKind::Group { group } => {
            let member = IdentityKey::from_bytes(contact)
                .ok()
                .zip(groups.get(group))
                .is_some_and(|(key, entry)| entry.group.state().is_member(&key));
            if !member {
                return Ok(None);
            }
            // Each member's receipt is kept (the message's own status
            // records only the first), so the counts survive a restart.
            let receipt = if to == MessageStatus::Read {
                GroupReceipt::Read
            } else {
                GroupReceipt::Delivered
            };
            tx.put_group_receipt(&id, contact, receipt)?;
            Some((*group, *contact))
        }
        ConversationKind::Direct { .. } => return Ok(None),
    };
    if forward {
        tx.set_status(&id, to)?;
    } else if group.is_none() {
        return Ok(None);
    }
    Ok(Some(ReadMark {
        id,
        conversation: message.conversation,
        visible: matches!(Payload::from_bytes(&message.content), Ok(Payload::Text(_))),
        unacked,
        group,
    }))
}

/// An envelope from an identity whose request waits for the user: a
/// retransmission of the request is acknowledged, anything else is refused
/// with [`reject::PENDING`] without touching the stored session.
fn from_pending(input: &BatchInput, book: Option<&SessionBook>, envelope: &Envelope) -> Ack {
    let Envelope::Prekey { message } = envelope else {
        return Ack::Rejected(reject::PENDING);
    };
    let (Ok(message), Some(book)) = (PrekeyMessage::parse(message), book) else {
        return Ack::Rejected(reject::PENDING);
    };
    let Some(mut trial) = copy_book(book) else {
        return Ack::Rejected(reject::PENDING);
    };
    let signed = input
        .prekeys
        .get(message.signed_prekey_id(), input.now_ms / 1_000);
    match trial.receive_prekey(&input.me, signed, None, &message) {
        Err(SessionError::Replay) => Ack::Stored,
        _ => Ack::Rejected(reject::PENDING),
    }
}

/// An envelope from an unknown identity: only a valid contact request
/// (stored as a pending request, with the new session) or the hello of a
/// member of a group we are in (docs/protocol.md §G13: the session is kept
/// and the sender becomes a group peer) is accepted.
fn from_unknown(
    tx: &mut WriteTx<'_>,
    input: &mut BatchInput,
    envelope: &Envelope,
    out: &mut BatchOutput,
) -> Result<(Ack, Option<(SessionBook, Relation)>), StoreError> {
    if !matches!(envelope, Envelope::Prekey { .. }) {
        return Ok((Ack::Rejected(reject::UNKNOWN_SENDER), None));
    }
    let sender = input.sender.to_bytes();
    let mut book = SessionBook::new(input.sender);
    let opened = match open(tx, input, &mut book, envelope)? {
        Ok(opened) => opened,
        Err(Refused::Duplicate) => return Ok((Ack::Rejected(reject::UNKNOWN_SENDER), None)),
        Err(Refused::Code(code)) => return Ok((Ack::Rejected(code), None)),
    };
    // A refused request leaves nothing behind: the new session is dropped
    // and the one-time prekey it used goes back to the store, so a forged
    // request cannot burn a prekey handed out to someone else.
    let refuse = |tx: &mut WriteTx<'_>, code: u16| -> Result<_, StoreError> {
        if let Some((id, pair)) = &opened.consumed {
            tx.put_one_time_prekey(*id, pair)?;
        }
        Ok((Ack::Rejected(code), None))
    };
    let request = match &opened.payload {
        Ok(Payload::ContactRequest(request)) => request,
        Ok(Payload::GroupPeerHello(hello)) => {
            let me = *input.me.public();
            return match intro::check_hello(&input.groups, &me, &input.sender, hello) {
                Ok(code) => {
                    intro::record_peer(tx, &input.sender, &code, input.now_ms, &mut out.intro)?;
                    out.intro.new_session = true;
                    Ok((Ack::Stored, Some((book, Relation::GroupPeer))))
                }
                Err(HelloRefusal::BadCode) => refuse(tx, reject::BAD_REQUEST),
                // The op making it a member may still be on its way to us:
                // nothing is kept, the sender tries again later.
                Err(HelloRefusal::NotYet) => refuse(tx, reject::PENDING),
            };
        }
        Ok(_) => return refuse(tx, reject::UNKNOWN_SENDER),
        Err(()) => return refuse(tx, reject::BAD_PAYLOAD),
    };
    if input.pending_requests >= MAX_PENDING_REQUESTS {
        return refuse(tx, reject::TOO_MANY_REQUESTS);
    }
    let Some(code) = check_request(request, &input.sender) else {
        return refuse(tx, reject::BAD_REQUEST);
    };
    tx.put_contact_request(
        &sender,
        &StoredContactRequest {
            payload: opened.content.clone(),
            received_at: input.now_ms,
        },
    )?;
    out.new_request = Some(NewRequest {
        name: code.display_name().to_owned(),
        greeting: request.greeting.clone(),
        received_at: input.now_ms,
    });
    Ok((Ack::Stored, Some((book, Relation::Pending))))
}

/// A group payload (an op, a chain, a pairwise group message or an
/// introduction) from a contact or a group peer, in the batch's
/// transaction. Always acknowledged as stored: a refused op or message is
/// forgotten or reported to the user, not to the sender.
fn group_payload(
    tx: &mut WriteTx<'_>,
    groups: &mut GroupMap,
    arrival: &groups::Arrival<'_>,
    book: &mut SessionBook,
    payload: Payload,
    out: &mut BatchOutput,
) -> Result<Ack, StoreError> {
    let groups::Arrival { me, from, now } = *arrival;
    match payload {
        Payload::GroupOp { op } => {
            let (outcome, group) = groups::apply_op(tx, groups, me, &op, &mut out.group_events)?;
            if let (OpOutcome::Applied, Some(group)) = (outcome, group) {
                out.groups_touched.insert(group);
            }
        }
        Payload::GroupSenderKey(key) => {
            if let Some(group) = groups::add_sender_key(tx, groups, from, &key)? {
                out.group_keys.insert(group);
            }
        }
        Payload::GroupMessage { envelope } => {
            groups::receive_pairwise(tx, groups, arrival, book, envelope, &mut out.group_messages)?;
        }
        Payload::GroupIntroduction(introduction) => {
            intro::receive_introduction(tx, groups, me, from, &introduction, now, &mut out.intro)?;
        }
        _ => return Ok(Ack::Rejected(reject::UNSUPPORTED)),
    }
    Ok(Ack::Stored)
}

/// A group peer's profile or hello: its code (which must name it)
/// refreshes its record. A hello opens a session (ours may have crossed
/// it): our chains go to it next.
fn peer_code(
    tx: &mut WriteTx<'_>,
    input: &BatchInput,
    code: &str,
    hello: bool,
    out: &mut BatchOutput,
) -> Result<Ack, StoreError> {
    let Some(code) = check_code(code, &input.sender) else {
        return Ok(Ack::Rejected(reject::BAD_REQUEST));
    };
    intro::record_peer(tx, &input.sender, &code, input.now_ms, &mut out.intro)?;
    out.intro.new_session |= hello;
    Ok(Ack::Stored)
}

/// An envelope from a group peer (docs/protocol.md §G13): group payloads,
/// receipts of group messages, its profile or hello (its name and
/// addresses) and a contact request are processed; a text is refused and
/// never reaches a conversation.
fn from_group_peer(
    tx: &mut WriteTx<'_>,
    input: &mut BatchInput,
    book: &mut SessionBook,
    envelope: &Envelope,
    out: &mut BatchOutput,
    book_changed: &mut bool,
) -> Result<Ack, StoreError> {
    let opened = match open(tx, input, book, envelope)? {
        Ok(opened) => opened,
        Err(Refused::Duplicate) => return Ok(Ack::Stored),
        Err(Refused::Code(code)) => return Ok(Ack::Rejected(code)),
    };
    *book_changed = true;
    let payload = match opened.payload {
        Ok(payload) => payload,
        Err(()) => return Ok(Ack::Rejected(reject::BAD_PAYLOAD)),
    };
    let sender = input.sender.to_bytes();
    match payload {
        // Not a contact: no direct conversation to put it in.
        Payload::Text(_) => Ok(Ack::Rejected(reject::UNKNOWN_SENDER)),
        Payload::DeliveryReceipt(Receipt { ids }) => {
            for id in &ids {
                let status = MessageStatus::Delivered;
                if let Some(mark) =
                    mark_receipt(tx, &input.groups, &sender, *id.as_bytes(), status, true)?
                {
                    out.delivered.push(mark);
                }
            }
            Ok(Ack::Stored)
        }
        Payload::ReadReceipt(Receipt { ids }) => {
            for id in &ids {
                let status = MessageStatus::Read;
                if let Some(mark) =
                    mark_receipt(tx, &input.groups, &sender, *id.as_bytes(), status, true)?
                {
                    out.read.push(mark);
                }
            }
            Ok(Ack::Stored)
        }
        Payload::Profile(profile) => peer_code(tx, input, &profile.pairing_code, false, out),
        Payload::GroupPeerHello(hello) => peer_code(tx, input, &hello.pairing_code, true, out),
        Payload::ContactRequest(request) => {
            // It wants to become a contact: a request for the user, like
            // anyone's; the group-peer session goes on meanwhile.
            let Some(code) = check_request(&request, &input.sender) else {
                return Ok(Ack::Rejected(reject::BAD_REQUEST));
            };
            if input.pending_requests >= MAX_PENDING_REQUESTS {
                return Ok(Ack::Rejected(reject::TOO_MANY_REQUESTS));
            }
            tx.put_contact_request(
                &sender,
                &StoredContactRequest {
                    payload: opened.content.clone(),
                    received_at: input.now_ms,
                },
            )?;
            out.new_request = Some(NewRequest {
                name: code.display_name().to_owned(),
                greeting: request.greeting.clone(),
                received_at: input.now_ms,
            });
            Ok(Ack::Stored)
        }
        payload @ (Payload::GroupOp { .. }
        | Payload::GroupSenderKey(_)
        | Payload::GroupMessage { .. }
        | Payload::GroupIntroduction(_)) => {
            let me = *input.me.public();
            let arrival = groups::Arrival {
                me: &me,
                from: &input.sender,
                now: input.now_ms,
            };
            group_payload(tx, &mut input.groups, &arrival, book, payload, out)
        }
        Payload::SenderKeyDistribution { .. } => Ok(Ack::Rejected(reject::UNSUPPORTED)),
    }
}
