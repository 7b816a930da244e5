//! A page of history read without copying: the decrypted blocks, and for
//! each message its fixed fields and where its content lies in them.
//!
//! [`ReadTx::page`](crate::ReadTx::page) returns a [`MessagePage`]; its
//! [`MessageView`]s borrow their content from it. A chat view renders from
//! the views directly; [`MessagePage::into_messages`] makes owned
//! [`Message`]s when they must outlive the page.

use std::ops::Range;

use zeroize::Zeroizing;

use crate::records::{Direction, Head, Message, MessageStatus};
use crate::tx::CorruptMessage;

/// Decrypted, decoded messages of one conversation, in the order asked for.
/// The plaintexts are wiped when the page is dropped.
pub struct MessagePage {
    conversation: u64,
    /// Decrypted block plaintexts.
    blocks: Vec<Zeroizing<Vec<u8>>>,
    items: Vec<Item>,
}

enum Item {
    Entry {
        seq: u64,
        head: Head,
        block: usize,
        content: Range<usize>,
        reason: Range<usize>,
    },
    Corrupt(CorruptMessage),
}

impl std::fmt::Debug for MessagePage {
    /// Counts only: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagePage")
            .field("conversation", &self.conversation)
            .field("len", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// One message of a [`MessagePage`], its content borrowed from the page.
#[derive(Clone, Copy)]
pub struct MessageView<'p> {
    conversation: u64,
    seq: u64,
    head: &'p Head,
    content: &'p [u8],
    reason: &'p [u8],
}

impl std::fmt::Debug for MessageView<'_> {
    /// The content's length only: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageView")
            .field("conversation", &self.conversation)
            .field("seq", &self.seq)
            .field("content_len", &self.content.len())
            .finish_non_exhaustive()
    }
}

impl<'p> MessageView<'p> {
    /// The conversation it belongs to.
    pub fn conversation(&self) -> u64 {
        self.conversation
    }

    /// Its sequence number in the conversation.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The protocol message id.
    pub fn id(&self) -> &'p [u8; 16] {
        &self.head.id
    }

    /// The sender's identity key.
    pub fn sender(&self) -> &'p [u8; 32] {
        &self.head.sender
    }

    /// Outgoing or incoming.
    pub fn direction(&self) -> Direction {
        self.head.direction
    }

    /// When the sender sent it (ms since the Unix epoch, sender's clock).
    pub fn sent_at(&self) -> u64 {
        self.head.sent_at
    }

    /// When this device stored it (ms since the Unix epoch).
    pub fn received_at(&self) -> u64 {
        self.head.received_at
    }

    /// The content: a `wren_proto::Payload` frame.
    pub fn content(&self) -> &'p [u8] {
        self.content
    }

    /// Delivery state.
    pub fn status(&self) -> MessageStatus {
        self.head
            .status(String::from_utf8_lossy(self.reason).into_owned())
    }

    /// An owned copy.
    pub fn to_message(&self) -> Message {
        Message {
            conversation: self.conversation,
            seq: self.seq,
            id: self.head.id,
            sender: self.head.sender,
            direction: self.head.direction,
            sent_at: self.head.sent_at,
            received_at: self.head.received_at,
            content: self.content.to_vec(),
            status: self.status(),
        }
    }
}

impl MessagePage {
    /// An empty page with room for `limit` items.
    pub(crate) fn new(conversation: u64, limit: usize) -> Self {
        MessagePage {
            conversation,
            blocks: Vec::with_capacity(4),
            items: Vec::with_capacity(limit.min(1_024)),
        }
    }

    /// Number of items (messages and unreadable blocks).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in order: a message, or an unreadable block reported in
    /// its place.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = Result<MessageView<'_>, &CorruptMessage>> {
        self.items.iter().map(move |item| match item {
            Item::Entry {
                seq,
                head,
                block,
                content,
                reason,
            } => {
                let plaintext = self.blocks.get(*block).map_or(&[][..], |b| b.as_slice());
                Ok(MessageView {
                    conversation: self.conversation,
                    seq: *seq,
                    head,
                    content: plaintext.get(content.clone()).unwrap_or_default(),
                    reason: plaintext.get(reason.clone()).unwrap_or_default(),
                })
            }
            Item::Corrupt(corrupt) => Err(corrupt),
        })
    }

    /// Owned messages, in order.
    pub fn into_messages(self) -> Vec<Result<Message, CorruptMessage>> {
        let mut out = Vec::with_capacity(self.items.len());
        for view in self.iter() {
            out.push(view.map(|view| view.to_message()).map_err(Clone::clone));
        }
        out
    }

    /// The sequence of the last item, the cursor of the next page.
    pub fn last_seq(&self) -> Option<u64> {
        self.items.last().map(|item| match item {
            Item::Entry { seq, .. } => *seq,
            Item::Corrupt(corrupt) => corrupt.seq,
        })
    }

    /// Adds a decrypted block; returns its index for [`MessagePage::push`].
    pub(crate) fn add_block(&mut self, plaintext: Zeroizing<Vec<u8>>) -> usize {
        self.blocks.push(plaintext);
        self.blocks.len() - 1
    }

    /// Adds a message located in block `block`.
    pub(crate) fn push(
        &mut self,
        seq: u64,
        head: Head,
        block: usize,
        content: Range<usize>,
        reason: Range<usize>,
    ) {
        self.items.push(Item::Entry {
            seq,
            head,
            block,
            content,
            reason,
        });
    }

    /// Reports an unreadable block in place.
    pub(crate) fn push_corrupt(&mut self, corrupt: CorruptMessage) {
        self.items.push(Item::Corrupt(corrupt));
    }
}
