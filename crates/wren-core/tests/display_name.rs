//! Changing the own display name: validation, the identity and pairing
//! codes, contacts learning it through the encrypted profile, and the name
//! surviving a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{pair, start};
use wren_core::{NodeError, NodeEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_are_refused_and_change_nothing() {
    let a = start("Ada").await;
    let too_long = "x".repeat(65);
    for name in ["", "line\nbreak", too_long.as_str()] {
        assert!(matches!(
            a.node.set_name(name).await,
            Err(NodeError::InvalidArgument(_))
        ));
    }
    assert_eq!(a.node.identity().await.name, "Ada");
    // 64 bytes is the limit, and allowed.
    let longest = "y".repeat(64);
    assert_eq!(a.node.set_name(&longest).await.unwrap().name, longest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_name_reaches_codes_contacts_and_survives_a_restart() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    pair(&mut a, &mut b, "bob", "ada").await;

    let identity = a.node.set_name("Ada Lovelace").await.unwrap();
    assert_eq!(identity.name, "Ada Lovelace");
    assert_eq!(identity.peer_id, a.peer_id);
    assert_eq!(a.node.identity().await, identity);
    // Clones share the identity.
    assert_eq!(a.node.clone().identity().await.name, "Ada Lovelace");

    // A new pairing code carries the new name.
    let c = start("Cy").await;
    let code = a.node.pairing_code().await.unwrap();
    let added = c.node.add_contact(&code, None).await.unwrap();
    assert_eq!(added.name, "Ada Lovelace");

    // The profile is queued before this text: once the text arrived, B
    // knows the new name.
    a.node.send_text("bob", "hello").await.unwrap();
    let ap = a.peer_id.clone();
    b.next(|e| match e {
        NodeEvent::MessageReceived { from, .. } if *from == ap => Some(()),
        _ => None,
    })
    .await;
    let contacts = b.node.contacts().await.unwrap();
    let ada = contacts.iter().find(|c| c.peer_id == a.peer_id).unwrap();
    assert_eq!(ada.name, "Ada Lovelace");
    assert_eq!(ada.alias.as_deref(), Some("ada"));

    let a = a.restart().await;
    assert_eq!(a.node.identity().await.name, "Ada Lovelace");
}
