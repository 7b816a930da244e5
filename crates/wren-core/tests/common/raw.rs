//! A peer that speaks the wire protocol directly, built from the protocol
//! crates, to send what a Wren node would never send.

use tokio::sync::mpsc;
use wren_crypto::{
    IdentityKeyPair, OutboundMessage, PairingCode, PrekeyBundle, SessionBook, SignedPrekeys,
};
use wren_net::{Ack, Net, NetConfig, NetEvent, PeerId};
use wren_proto::{ContactRequest, Envelope, MessageId, Payload, Text, Timestamp, Versioned};

use super::{TestNode, guard};

/// A peer that speaks the wire protocol directly.
pub(crate) struct Raw {
    pub(crate) net: Net,
    pub(crate) me: IdentityKeyPair,
    pub(crate) prekeys: SignedPrekeys,
}

impl Raw {
    /// A raw peer that acknowledges every batch and answers bundle
    /// requests with its own bundle.
    pub(crate) fn new() -> Raw {
        Self::with_bundle_of(None)
    }

    /// A raw peer whose bundle answers carry `other`'s bundle instead of
    /// its own (a forged bundle), if given.
    pub(crate) fn with_bundle_of(other: Option<&Raw>) -> Raw {
        let me = IdentityKeyPair::generate(&mut rand::rng());
        let prekeys = SignedPrekeys::new(&me, 1_700_000_000, &mut rand::rng());
        let bundle = match other {
            Some(other) => other.bundle(),
            None => PrekeyBundle::new(*me.public(), *prekeys.current().public(), None).to_bytes(),
        };
        let mut config = NetConfig::new(me.to_libp2p_keypair());
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config.mdns = false;
        let (net, events) = wren_net::spawn(config).unwrap();
        tokio::spawn(answer_everything(net.clone(), events, bundle));
        Raw { net, me, prekeys }
    }

    /// This peer's signed prekey bundle.
    pub(crate) fn bundle(&self) -> Vec<u8> {
        PrekeyBundle::new(*self.me.public(), *self.prekeys.current().public(), None).to_bytes()
    }

    /// A pairing code of this identity.
    pub(crate) fn code(&self, name: &str) -> String {
        PairingCode::new(&self.me, self.prekeys.current().public(), name, Vec::new())
            .unwrap()
            .to_uri()
    }

    pub(crate) async fn send(&self, to: &TestNode, envelopes: Vec<Vec<u8>>) -> Vec<Ack> {
        let peer: PeerId = to.peer_id.parse().unwrap();
        self.net
            .add_addresses(peer, vec![to.listen.clone()])
            .await
            .unwrap();
        guard(self.net.send_direct(peer, envelopes)).await.unwrap()
    }
}

/// Acknowledges whatever the node under test sends us (requests,
/// receipts) and answers bundle requests with `bundle`.
async fn answer_everything(net: Net, mut events: mpsc::Receiver<NetEvent>, bundle: Vec<u8>) {
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::DirectRequest {
                envelopes, reply, ..
            } => {
                let _ = net
                    .respond_direct(reply, vec![Ack::Stored; envelopes.len()])
                    .await;
            }
            NetEvent::BundleRequest { reply, .. } => {
                let _ = net.respond_bundle(reply, bundle.clone()).await;
            }
            _ => {}
        }
    }
}

/// A session from `raw` to the owner of `code`.
pub(crate) fn session(raw: &Raw, code: &str) -> SessionBook {
    let code = PairingCode::parse(code).unwrap();
    let mut book = SessionBook::new(*code.identity());
    book.initiate(&raw.me, &code.bundle(), &mut rand::rng())
        .unwrap();
    book
}

pub(crate) fn seal(book: &mut SessionBook, payload: &Payload) -> Vec<u8> {
    let envelope = match book
        .encrypt(&payload.to_bytes().unwrap(), &mut rand::rng())
        .unwrap()
    {
        OutboundMessage::Prekey(message) => Envelope::Prekey { message },
        OutboundMessage::Normal(message) => Envelope::Message { message },
    };
    envelope.to_bytes().unwrap()
}

pub(crate) fn request(pairing_code: String) -> Payload {
    Payload::ContactRequest(ContactRequest {
        id: MessageId::from_bytes(rand::random()),
        sent_at: Timestamp::from_millis(1),
        pairing_code,
        greeting: Some("hello".into()),
    })
}

pub(crate) fn text(body: &str) -> Payload {
    Payload::Text(Text {
        id: MessageId::from_bytes(rand::random()),
        sent_at: Timestamp::from_millis(1),
        body: body.into(),
        reply_to: None,
    })
}
