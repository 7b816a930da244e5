//! Helpers shared by the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub
)]

use std::path::Path;

use wren_crypto::{IdentityKeyPair, SessionBook};
use wren_proto::{MessageId, Payload, Text, Timestamp, Versioned};
use wren_store::{
    ConversationKind, Incoming, IncomingOutcome, KdfParams, MessageStatus, NewMessage, NewOutbox,
    Outgoing, Recorded, Store, Unlock,
};

/// Cheap argon2id parameters so tests stay fast in debug builds.
pub const TEST_PARAMS: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

pub fn passphrase(p: &str) -> Unlock {
    Unlock::Passphrase {
        passphrase: zeroize::Zeroizing::new(p.to_owned()),
        params: TEST_PARAMS,
    }
}

pub fn text_frame(id: [u8; 16], body: &str) -> Vec<u8> {
    Payload::Text(Text {
        id: MessageId::from_bytes(id),
        sent_at: Timestamp::from_millis(1),
        body: body.to_owned(),
        reply_to: None,
    })
    .to_bytes()
    .unwrap()
}

pub fn id_of(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id
}

pub fn contact() -> (SessionBook, [u8; 32]) {
    let pair = IdentityKeyPair::generate(&mut rand::rng());
    let key = *pair.public();
    (SessionBook::new(key), key.to_bytes())
}

pub async fn open_keyfile(dir: &Path) -> Store {
    Store::open(dir, Unlock::KeyFile).await.unwrap()
}

pub async fn conversation(store: &Store, contact: [u8; 32]) -> u64 {
    store
        .write(move |tx| tx.direct_conversation(&contact, 0))
        .await
        .unwrap()
}

pub async fn send(
    store: &Store,
    conversation: u64,
    session: SessionBook,
    contact: [u8; 32],
    n: u64,
    body: &str,
) -> Recorded {
    let content = text_frame(id_of(n), body);
    store
        .write(move |tx| {
            tx.record_outgoing(Outgoing {
                conversation,
                session: &session,
                message: NewMessage {
                    id: id_of(n),
                    sender: [0; 32],
                    sent_at: n,
                    received_at: n,
                    content,
                    status: MessageStatus::Sending,
                },
                outbox: NewOutbox {
                    recipient: contact,
                    envelope: vec![n as u8; 40],
                    next_retry_ms: n,
                },
            })
        })
        .await
        .unwrap()
}

pub async fn receive(
    store: &Store,
    conversation: u64,
    session: SessionBook,
    contact: [u8; 32],
    n: u64,
    body: &str,
) -> IncomingOutcome {
    let content = text_frame(id_of(n), body);
    store
        .write(move |tx| {
            tx.record_incoming(Incoming {
                conversation,
                session: &session,
                message: NewMessage {
                    id: id_of(n),
                    sender: contact,
                    sent_at: n,
                    received_at: n,
                    content,
                    status: MessageStatus::Received,
                },
                receipt: None,
            })
        })
        .await
        .unwrap()
}

pub fn direct(contact: [u8; 32]) -> ConversationKind {
    ConversationKind::Direct { contact }
}
