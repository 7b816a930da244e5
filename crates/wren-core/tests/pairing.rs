//! Pairing through codes: request, accept, decline, automatic acceptance
//! when both sides added each other, safety numbers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{TestNode, start};
use wren_core::{ContactState, Known, NodeError, NodeEvent};

async fn received(node: &mut TestNode, from: &str) -> String {
    let from = from.to_owned();
    node.next(|e| match e {
        NodeEvent::MessageReceived { from: f, text, .. } if *f == from => Some(text.clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_via_codes_and_accept() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    let code = b.node.pairing_code().await.unwrap();
    assert!(code.starts_with("wren:1/"));

    let info = a.node.add_contact(&code, Some("bob".into())).await.unwrap();
    assert_eq!(info.peer_id, b.peer_id);
    assert_eq!(info.name, "Bob");
    assert_eq!(info.state, ContactState::Pending);
    // Usable as a recipient at once.
    let bp = b.peer_id.clone();
    a.next(|e| match e {
        NodeEvent::ContactAdded { contact, alias } if *contact == bp => {
            assert_eq!(alias.as_deref(), Some("bob"));
            Some(())
        }
        _ => None,
    })
    .await;

    // B sees a request, not a conversation.
    let ap = a.peer_id.clone();
    let name = b
        .next(|e| match e {
            NodeEvent::ContactRequest { from, name } if *from == ap => Some(name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "Ada");
    let requests = b.node.contact_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].peer_id, a.peer_id);
    assert!(b.node.conversations().await.unwrap().is_empty());
    assert!(b.node.contacts().await.unwrap().is_empty());
    assert!(matches!(
        b.node.send_text(&a.peer_id, "no").await,
        Err(NodeError::UnknownContact(_))
    ));

    // Accept by display name.
    let accepted = b.node.accept("Ada").await.unwrap();
    assert_eq!(accepted.peer_id, a.peer_id);
    assert_eq!(accepted.state, ContactState::Added);
    b.next(|e| match e {
        NodeEvent::ContactAdded { contact, .. } if *contact == ap => Some(()),
        _ => None,
    })
    .await;
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    a.next(|e| match e {
        NodeEvent::ContactAccepted { contact } if *contact == bp => Some(()),
        _ => None,
    })
    .await;
    let contacts = a.node.contacts().await.unwrap();
    assert_eq!(contacts[0].state, ContactState::Added);

    // Both sides show the same safety number.
    let sa = a.node.safety_number("bob").await.unwrap();
    let sb = b.node.safety_number(&a.peer_id).await.unwrap();
    assert_eq!(sa, sb);
    assert_eq!(sa, contacts[0].safety_number);
    assert_eq!(sa.split(' ').count(), 12);
    assert!(!contacts[0].verified);
    assert!(a.node.verify("bob").await.unwrap().verified);

    // And they talk.
    a.node.send_text("bob", "hi Bob").await.unwrap();
    assert_eq!(received(&mut b, &a.peer_id).await, "hi Bob");
    b.node.send_text(&a.peer_id, "hi Ada").await.unwrap();
    assert_eq!(received(&mut a, &b.peer_id).await, "hi Ada");

    // Typed errors.
    assert!(matches!(
        a.node.add_contact("wren:1/AAAA", None).await,
        Err(NodeError::BadCode(_))
    ));
    let own = a.node.pairing_code().await.unwrap();
    assert!(matches!(
        a.node.add_contact(&own, None).await,
        Err(NodeError::IsSelf)
    ));
    let mut c = start("Cy").await;
    let code_c = c.node.pairing_code().await.unwrap();
    assert!(matches!(
        a.node.add_contact(&code_c, Some("bob".into())).await,
        Err(NodeError::AliasTaken(_))
    ));
    assert!(matches!(
        a.node.add_contact(&c.peer_id, None).await,
        Err(NodeError::UnknownPeer)
    ));
    let _ = &mut c;
    for n in [&a, &b, &c] {
        n.node.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_drops_the_request() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    let code = b.node.pairing_code().await.unwrap();
    a.node.add_contact(&code, Some("bob".into())).await.unwrap();
    let ap = a.peer_id.clone();
    b.next(|e| match e {
        NodeEvent::ContactRequest { from, .. } if *from == ap => Some(()),
        _ => None,
    })
    .await;
    b.node.decline(&a.peer_id).await.unwrap();
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    assert!(b.node.contacts().await.unwrap().is_empty());
    assert!(matches!(
        b.node.accept(&a.peer_id).await,
        Err(NodeError::NoSuchRequest(_))
    ));
    // A's later message is refused as from an unknown identity.
    let sent = a.node.send_text("bob", "anyone?").await.unwrap();
    let id = sent.id.clone();
    let detail = a
        .next(|e| match e {
            NodeEvent::StatusChanged {
                id: i,
                status: wren_core::Status::Failed,
                detail,
                ..
            } if *i == id => Some(detail.clone()),
            _ => None,
        })
        .await;
    assert!(detail.unwrap().contains("not a contact"));
    assert!(b.node.conversations().await.unwrap().is_empty());
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

/// Both add each other's codes at the same moment: each request is accepted
/// automatically (or the add accepts the other's request), nobody is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_adds_accept_automatically() {
    let mut a = start("Ada").await;
    let mut b = start("Bob").await;
    let code_a = a.node.pairing_code().await.unwrap();
    let code_b = b.node.pairing_code().await.unwrap();
    let (ra, rb) = tokio::join!(
        a.node.add_contact(&code_b, Some("bob".into())),
        b.node.add_contact(&code_a, Some("ada".into())),
    );
    ra.unwrap();
    rb.unwrap();
    a.node.send_text("bob", "from Ada").await.unwrap();
    b.node.send_text("ada", "from Bob").await.unwrap();
    let bp = b.peer_id.clone();
    let ap = a.peer_id.clone();
    let mut requests = 0;
    let text = a
        .next(|e| match e {
            NodeEvent::ContactRequest { .. } => {
                requests += 1;
                None
            }
            NodeEvent::MessageReceived { from, text, .. } if *from == bp => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "from Bob");
    let text = b
        .next(|e| match e {
            NodeEvent::ContactRequest { .. } => {
                requests += 1;
                None
            }
            NodeEvent::MessageReceived { from, text, .. } if *from == ap => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "from Ada");
    assert_eq!(requests, 0, "nobody is asked");
    assert!(a.node.contact_requests().await.unwrap().is_empty());
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    assert_eq!(
        a.node.safety_number("bob").await.unwrap(),
        b.node.safety_number("ada").await.unwrap()
    );
    // The sessions converged: more messages both ways still decrypt.
    for i in 0..5 {
        a.node.send_text("bob", &format!("a{i}")).await.unwrap();
        b.node.send_text("ada", &format!("b{i}")).await.unwrap();
    }
    for i in 0..5 {
        assert_eq!(received(&mut b, &a.peer_id).await, format!("a{i}"));
        assert_eq!(received(&mut a, &b.peer_id).await, format!("b{i}"));
    }
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

/// A adds B's code while B is offline; then B comes back and adds A's code:
/// A already has B as a contact, so B's request is accepted automatically,
/// and A's queued request reaches B, who has A as a contact too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_from_a_contact_is_accepted_automatically() {
    let mut a = start("Ada").await;
    let b = start("Bob").await;
    let code_b = b.node.pairing_code().await.unwrap();
    let stopped = b.stop().await;

    a.node
        .add_contact(&code_b, Some("bob".into()))
        .await
        .unwrap();
    a.node
        .send_text("bob", "queued while you were away")
        .await
        .unwrap();
    let code_a = a.node.pairing_code().await.unwrap();

    let mut b = stopped.reopen().await;
    b.node
        .add_contact(&code_a, Some("ada".into()))
        .await
        .unwrap();
    let ap = a.peer_id.clone();
    let bp = b.peer_id.clone();
    let mut requests = 0;
    let text = b
        .next(|e| match e {
            NodeEvent::ContactRequest { .. } => {
                requests += 1;
                None
            }
            NodeEvent::MessageReceived { from, text, .. } if *from == ap => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "queued while you were away");
    b.node.send_text("ada", "back").await.unwrap();
    let text = a
        .next(|e| match e {
            NodeEvent::ContactRequest { .. } => {
                requests += 1;
                None
            }
            NodeEvent::MessageReceived { from, text, .. } if *from == bp => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "back");
    assert_eq!(requests, 0);
    assert!(a.node.contact_requests().await.unwrap().is_empty());
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    a.node.shutdown().await.unwrap();
    b.node.shutdown().await.unwrap();
}

/// Deterministic form of the automatic acceptance: the node added a peer's
/// code (the peer is a pending contact); the peer's own request then
/// arrives and is accepted without asking, and the peer's messages go
/// straight to the conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_from_a_pending_contact_is_accepted_without_asking() {
    use common::raw::{Raw, request, seal, session, text};
    use wren_net::Ack;

    let mut b = start("Bob").await;
    let m = Raw::new();
    let m_peer = m.me.public().peer_id().to_string();
    let info = b
        .node
        .add_contact(&m.code("Mia"), Some("mia".into()))
        .await
        .unwrap();
    assert_eq!(info.state, ContactState::Pending);

    let mut book = session(&m, &b.node.pairing_code().await.unwrap());
    let envelopes = vec![
        seal(&mut book, &request(m.code("Mia"))),
        seal(&mut book, &text("hello Bob")),
    ];
    assert_eq!(m.send(&b, envelopes).await, [Ack::Stored, Ack::Stored]);
    let mut requests = 0;
    let mut accepted = false;
    let received = b
        .next(|e| match e {
            NodeEvent::ContactRequest { .. } => {
                requests += 1;
                None
            }
            NodeEvent::ContactAccepted { contact } if *contact == m_peer => {
                accepted = true;
                None
            }
            NodeEvent::MessageReceived { from, text, .. } if *from == m_peer => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(received, "hello Bob");
    assert!(accepted);
    assert_eq!(requests, 0);
    assert!(b.node.contact_requests().await.unwrap().is_empty());
    let contacts = b.node.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].state, ContactState::Added);
    assert_eq!(contacts[0].name, "Mia");
    b.node.shutdown().await.unwrap();
}

/// Adding by peer id: only a reachable peer (here: connected), whose
/// bundle is fetched over `/wren/bundle/1` and must be signed by that
/// identity; a node's own bundle answers carry a one-time prekey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_by_peer_id_fetches_and_checks_the_bundle() {
    use common::raw::Raw;
    use wren_net::Ack;

    let mut b = start("Bob").await;
    // An honest peer, connected to B (it sent something).
    let m = Raw::new();
    let m_peer = m.me.public().peer_id().to_string();
    assert!(matches!(
        b.node.add_contact(&m_peer, None).await,
        Err(NodeError::UnknownPeer)
    ));
    assert_eq!(
        m.send(&b, vec![vec![0xff]]).await,
        [Ack::Rejected(wren_core::limits::reject::MALFORMED)]
    );
    let info = b.node.add_contact(&m_peer, Some("m".into())).await.unwrap();
    assert_eq!(info.peer_id, m_peer);
    assert_eq!(info.state, ContactState::Pending);
    b.next(|e| match e {
        NodeEvent::ContactAdded { contact, .. } if *contact == m_peer => Some(()),
        _ => None,
    })
    .await;

    // A peer that answers with someone else's bundle.
    let honest = Raw::new();
    let forger = Raw::with_bundle_of(Some(&honest));
    let forger_peer = forger.me.public().peer_id().to_string();
    forger.send(&b, vec![vec![0xff]]).await;
    assert!(matches!(
        b.node.add_contact(&forger_peer, None).await,
        Err(NodeError::BadBundle)
    ));
    assert_eq!(b.node.contacts().await.unwrap().len(), 1);

    // Two nodes: A adds B by peer id once they are connected.
    let mut a = start("Ada").await;
    let code_a = a.node.pairing_code().await.unwrap();
    b.node
        .add_contact(&code_a, Some("ada".into()))
        .await
        .unwrap();
    let bp = b.peer_id.clone();
    a.next(|e| match e {
        NodeEvent::ContactRequest { from, .. } if *from == bp => Some(()),
        _ => None,
    })
    .await;
    // A adding B by peer id now is accepting its request.
    let info = a
        .node
        .add_contact(&b.peer_id, Some("bob".into()))
        .await
        .unwrap();
    assert_eq!(info.state, ContactState::Added);
    assert!(a.node.contact_requests().await.unwrap().is_empty());
    a.node.send_text("bob", "by peer id").await.unwrap();
    let ap = a.peer_id.clone();
    let text = b
        .next(|e| match e {
            NodeEvent::MessageReceived { from, text, .. } if *from == ap => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "by peer id");

    // A third node fetches A's bundle over the network (with a one-time
    // prekey) and pairs by peer id.
    let mut c = start("Cy").await;
    let code_a = a.node.pairing_code().await.unwrap();
    c.node
        .add_contact(&code_a, Some("ada".into()))
        .await
        .unwrap();
    let cp = c.peer_id.clone();
    a.next(|e| match e {
        NodeEvent::ContactRequest { from, .. } if *from == cp => Some(()),
        _ => None,
    })
    .await;
    a.node.decline(&c.peer_id).await.unwrap();
    // Connected (C's request came in): A adds C by peer id, with C's bundle.
    let info = a
        .node
        .add_contact(&c.peer_id, Some("cy".into()))
        .await
        .unwrap();
    assert_eq!(info.state, ContactState::Pending);
    a.node.send_text("cy", "hello Cy").await.unwrap();
    let text = c
        .next(|e| match e {
            NodeEvent::MessageReceived { from, text, .. } if *from == ap => Some(text.clone()),
            _ => None,
        })
        .await;
    assert_eq!(text, "hello Cy");
    for n in [&a, &b, &c] {
        n.node.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_shows_who_a_code_names_before_adding() {
    let a = start("Ada").await;
    let mut b = start("Bob").await;
    let code = b.node.pairing_code().await.unwrap();

    // Before adding: name, fingerprint and the safety number both sides
    // will show, and nothing sent.
    let preview = a.node.preview_contact(&code).await.unwrap();
    assert_eq!(preview.peer_id, b.peer_id);
    assert_eq!(preview.name.as_deref(), Some("Bob"));
    assert_eq!(preview.known, Known::New);
    assert_eq!(preview.fingerprint, b.node.identity().await.fingerprint);
    assert!(a.node.contacts().await.unwrap().is_empty());
    let by_peer = a.node.preview_contact(&b.peer_id).await.unwrap();
    assert_eq!(by_peer.name, None);
    assert_eq!(by_peer.safety_number, preview.safety_number);

    // The request reaches Bob: for him Ada is a request, and for Ada, Bob is
    // a contact; the safety number previewed is the one both sides show.
    a.node.add_contact(&code, None).await.unwrap();
    let ap = a.peer_id.clone();
    b.next(|e| match e {
        NodeEvent::ContactRequest { from, .. } if *from == ap => Some(()),
        _ => None,
    })
    .await;
    let code_a = a.node.pairing_code().await.unwrap();
    assert_eq!(
        b.node.preview_contact(&code_a).await.unwrap().known,
        Known::Request
    );
    assert_eq!(
        a.node.preview_contact(&code).await.unwrap().known,
        Known::Contact
    );
    assert_eq!(
        a.node.preview_contact(&code_a).await.unwrap().known,
        Known::Myself
    );
    let accepted = b.node.accept(&a.peer_id).await.unwrap();
    assert_eq!(accepted.safety_number, preview.safety_number);

    // Malformed input is a typed error.
    assert!(matches!(
        a.node.preview_contact("wren:1/AAAA").await,
        Err(NodeError::BadCode(_))
    ));
    for n in [&a, &b] {
        n.node.shutdown().await.unwrap();
    }
}
