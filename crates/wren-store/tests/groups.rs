//! Group persistence: records, op frames, our chain, receivers, group
//! messages and the publication queue survive a reopen; one transaction
//! commits a sent group message with its chain and its queued frame.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{id_of, open_keyfile, text_frame};
use wren_crypto::sender_key::{SenderKey, SenderKeyReceiver};
use wren_store::{
    ConversationKind, Direction, GroupIncoming, GroupOutgoing, GroupRecord, IncomingOutcome,
    MessageStatus, NewMessage, Order, StoreError,
};

const GROUP: [u8; 32] = [7; 32];
const MEMBER: [u8; 32] = [9; 32];

fn message(id: [u8; 16], sender: [u8; 32], status: MessageStatus) -> NewMessage {
    NewMessage {
        id,
        sender,
        sent_at: 1,
        received_at: 2,
        content: text_frame(id, "hello group"),
        status,
    }
}

#[tokio::test]
async fn groups_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let mut chain = SenderKey::generate(&mut rand::rng());
    let theirs = SenderKey::generate(&mut rand::rng());
    let mut receiver = SenderKeyReceiver::new(&theirs.distribution());
    let mut their_chain = theirs;
    let incoming = their_chain.encrypt(&GROUP, b"x").unwrap();
    receiver.decrypt(&GROUP, &incoming).unwrap();
    let sealed = chain.encrypt(&GROUP, b"y").unwrap();

    let chain_bytes = chain.to_bytes().to_vec();
    let receiver_bytes = receiver.to_bytes().to_vec();
    let conversation = store
        .write(move |tx| {
            let conversation =
                tx.create_conversation(ConversationKind::Group { group: GROUP }, "Friends", 1)?;
            tx.put_group(
                &GROUP,
                &GroupRecord {
                    conversation,
                    key_epoch: Some([1; 32]),
                    distributed: vec![MEMBER],
                    left: false,
                },
            )?;
            tx.put_group_op(&GROUP, &[2; 32], b"op two")?;
            tx.put_group_op(&GROUP, &[1; 32], b"op one")?;
            tx.put_group_op(&[8; 32], &[1; 32], b"other group")?;
            let seq = tx.record_group_outgoing(GroupOutgoing {
                group: GROUP,
                conversation,
                sender_key: &chain,
                message: message(id_of(1), [0; 32], MessageStatus::Sending),
                frame: sealed.clone(),
            })?;
            assert_eq!(seq, 1);
            let outcome = tx.record_group_incoming(GroupIncoming {
                group: GROUP,
                conversation,
                sender: MEMBER,
                receiver: &receiver,
                message: message(id_of(2), MEMBER, MessageStatus::Received),
            })?;
            assert_eq!(
                outcome,
                IncomingOutcome::Stored {
                    seq: 2,
                    receipt: None
                }
            );
            // The same id again: deduplicated.
            let again = tx.record_group_incoming(GroupIncoming {
                group: GROUP,
                conversation,
                sender: MEMBER,
                receiver: &receiver,
                message: message(id_of(2), MEMBER, MessageStatus::Received),
            })?;
            assert_eq!(
                again,
                IncomingOutcome::AlreadyStored {
                    conversation,
                    seq: 2
                }
            );
            Ok(conversation)
        })
        .await
        .unwrap();
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let (groups, ops, key, receivers, queue, history, conv) = store
        .read(move |tx| {
            Ok((
                tx.groups()?,
                tx.group_ops(&GROUP)?,
                tx.group_sender_key(&GROUP)?,
                tx.group_receivers(&GROUP)?,
                tx.group_publications()?,
                tx.messages(conversation, None, Order::NewestFirst, 10)?,
                tx.conversation(conversation)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].0, GROUP);
    assert_eq!(
        groups[0].1.as_ref().unwrap(),
        &GroupRecord {
            conversation,
            key_epoch: Some([1; 32]),
            distributed: vec![MEMBER],
            left: false
        }
    );
    assert_eq!(ops, vec![b"op one".to_vec(), b"op two".to_vec()]);
    assert_eq!(key.unwrap().to_bytes().to_vec(), chain_bytes);
    assert_eq!(receivers.len(), 1);
    assert_eq!(receivers[0].0, MEMBER);
    assert_eq!(receivers[0].1.to_bytes().to_vec(), receiver_bytes);
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].group, queue[0].message), (GROUP, id_of(1)));
    assert_eq!(conv.unwrap().kind, ConversationKind::Group { group: GROUP });
    let history: Vec<_> = history.into_iter().map(Result::unwrap).collect();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].direction, history[0].sender),
        (Direction::Incoming, MEMBER)
    );
    assert_eq!(history[1].direction, Direction::Outgoing);

    // Publishing empties the queue; leaving drops the chain and receivers.
    store
        .write(|tx| {
            assert!(tx.remove_group_publication(&GROUP, &id_of(1))?);
            assert!(tx.remove_group_sender_key(&GROUP)?);
            assert!(tx.remove_group_receiver(&GROUP, &MEMBER)?);
            assert!(!tx.remove_group_receiver(&GROUP, &MEMBER)?);
            Ok(())
        })
        .await
        .unwrap();
    let (queue, key, receivers) = store
        .read(|tx| {
            Ok((
                tx.group_publications()?,
                tx.group_sender_key(&GROUP)?,
                tx.group_receivers(&GROUP)?,
            ))
        })
        .await
        .unwrap();
    assert!(queue.is_empty() && key.is_none() && receivers.is_empty());
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_taken_id_aborts_the_outgoing_group_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let result = store
        .write(|tx| {
            let conversation =
                tx.create_conversation(ConversationKind::Group { group: GROUP }, "", 1)?;
            let chain = SenderKey::generate(&mut rand::rng());
            for _ in 0..2 {
                tx.record_group_outgoing(GroupOutgoing {
                    group: GROUP,
                    conversation,
                    sender_key: &chain,
                    message: message(id_of(1), [0; 32], MessageStatus::Sending),
                    frame: vec![1],
                })?;
            }
            Ok(())
        })
        .await;
    assert!(matches!(result, Err(StoreError::DuplicateMessageId)));
    let queue = store.read(|tx| tx.group_publications()).await.unwrap();
    assert!(queue.is_empty(), "the aborted transaction left nothing");
    store.close().await.unwrap();
}

#[tokio::test]
async fn oversized_op_frames_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let big = vec![0u8; wren_proto::limits::MAX_GROUP_OP_BYTES + 1];
    let result = store
        .write(move |tx| tx.put_group_op(&GROUP, &[1; 32], &big))
        .await;
    assert!(matches!(result, Err(StoreError::FieldTooLong { .. })));
    let at_limit = vec![0u8; wren_proto::limits::MAX_GROUP_OP_BYTES];
    store
        .write(move |tx| tx.put_group_op(&GROUP, &[1; 32], &at_limit))
        .await
        .unwrap();
    store.close().await.unwrap();
}

#[tokio::test]
async fn group_peers_survive_a_reopen_and_are_bounded() {
    use wren_store::{GroupPeer, MAX_ADDRESS_BYTES, MAX_CONTACT_ADDRESSES};
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let peer = GroupPeer {
        name: "Cy".to_owned(),
        addresses: vec!["/ip4/127.0.0.1/tcp/4001".to_owned()],
        relays: vec!["/ip4/10.0.0.1/tcp/4001/p2p/relay".to_owned()],
        pairing_code: "wren:1/CODE".to_owned(),
        added_at: 5,
    };
    assert!(store.read(|tx| tx.group_peers()).await.unwrap().is_empty());
    let stored = peer.clone();
    store
        .write(move |tx| {
            tx.put_group_peer(&MEMBER, &stored)?;
            tx.put_group_peer(&[10; 32], &stored)?;
            assert!(tx.remove_group_peer(&[10; 32])?);
            assert!(!tx.remove_group_peer(&[11; 32])?);
            Ok(())
        })
        .await
        .unwrap();
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let peers = store.read(|tx| tx.group_peers()).await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].0, MEMBER);
    assert_eq!(peers[0].1.as_ref().unwrap(), &peer);

    // At the limits it is stored; one over is refused.
    let mut full = peer.clone();
    full.addresses = vec!["a".repeat(MAX_ADDRESS_BYTES); MAX_CONTACT_ADDRESSES];
    full.relays = full.addresses.clone();
    full.pairing_code = "C".repeat(wren_proto::limits::MAX_PAIRING_CODE_BYTES);
    full.name = "n".repeat(wren_proto::limits::MAX_DISPLAY_NAME_BYTES);
    let mut over = full.clone();
    over.relays.push("b".to_owned());
    let result = store
        .write(move |tx| {
            tx.put_group_peer(&MEMBER, &full)?;
            Ok(tx.put_group_peer(&[12; 32], &over))
        })
        .await
        .unwrap();
    assert!(matches!(result, Err(StoreError::FieldTooLong { .. })));
    let peers = store.read(|tx| tx.group_peers()).await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(
        peers[0].1.as_ref().unwrap().relays.len(),
        MAX_CONTACT_ADDRESSES
    );
    store.close().await.unwrap();
}
