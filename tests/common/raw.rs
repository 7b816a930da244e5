//! Peers that speak Wren's wire protocol directly, to send a running
//! `wren-cli` what a Wren node never would: garbage, forged or replayed
//! envelopes ([`Raw`], on Wren's own network layer), and bytes that are not
//! even a valid `/wren/dm/1` frame ([`Wire`], a bare libp2p swarm).
//!
//! Scenarios that need it include it with `#[path = "common/raw.rs"]`, so
//! that the others do not build the protocol crates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub,
    missing_docs
)]

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use wren_crypto::{IdentityKeyPair, OutboundMessage, PairingCode, SessionBook, SignedPrekeys};
use wren_net::{Ack, Multiaddr, Net, NetConfig, NetEvent, PeerId, SendError};
use wren_proto::{ContactRequest, Envelope, MessageId, Payload, Text, Timestamp, Versioned};

/// An identity of our own on Wren's network layer: sends batches of
/// arbitrary envelopes over `/wren/dm/1` and reads the acknowledgements.
pub struct Raw {
    pub net: Net,
    pub me: IdentityKeyPair,
    pub prekeys: SignedPrekeys,
}

impl Raw {
    /// A new identity on a loopback port. Needs a Tokio runtime context.
    pub fn new() -> Raw {
        let me = IdentityKeyPair::generate(&mut rand::rng());
        let prekeys = SignedPrekeys::new(&me, 1_700_000_000, &mut rand::rng());
        let mut config = NetConfig::new(me.to_libp2p_keypair());
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config.mdns = false;
        let (net, events) = wren_net::spawn(config).unwrap();
        tokio::spawn(answer_everything(net.clone(), events));
        Raw { net, me, prekeys }
    }

    /// The peer id (= identity) of this peer.
    pub fn peer_id(&self) -> String {
        self.me.public().peer_id().to_string()
    }

    /// A valid pairing code of this identity.
    pub fn code(&self, name: &str) -> String {
        PairingCode::new(&self.me, self.prekeys.current().public(), name, Vec::new())
            .unwrap()
            .to_uri()
    }

    /// Sends one batch to `peer` at `addr`; the acknowledgements.
    pub async fn send(
        &self,
        peer: PeerId,
        addr: &Multiaddr,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<Ack>, SendError> {
        self.net
            .add_addresses(peer, vec![addr.clone()])
            .await
            .unwrap();
        self.net.send_direct(peer, envelopes).await
    }
}

/// Acknowledges whatever the node under test might send us.
async fn answer_everything(net: Net, mut events: mpsc::Receiver<NetEvent>) {
    while let Some(event) = events.recv().await {
        if let NetEvent::DirectRequest {
            envelopes, reply, ..
        } = event
        {
            let _ = net
                .respond_direct(reply, vec![Ack::Stored; envelopes.len()])
                .await;
        }
    }
}

/// A session from `raw` to the owner of the pairing code `code` (X3DH with
/// the bundle inside the code).
pub fn session(raw: &Raw, code: &str) -> SessionBook {
    let code = PairingCode::parse(code).unwrap();
    let mut book = SessionBook::new(*code.identity());
    book.initiate(&raw.me, &code.bundle(), &mut rand::rng())
        .unwrap();
    book
}

/// Encrypts `plaintext` with `book` into an envelope (a prekey message
/// until the peer has answered).
pub fn seal_bytes(book: &mut SessionBook, plaintext: &[u8]) -> Vec<u8> {
    let envelope = match book.encrypt(plaintext, &mut rand::rng()).unwrap() {
        OutboundMessage::Prekey(message) => Envelope::Prekey { message },
        OutboundMessage::Normal(message) => Envelope::Message { message },
    };
    envelope.to_bytes().unwrap()
}

/// Encrypts `payload` with `book` into an envelope.
pub fn seal(book: &mut SessionBook, payload: &Payload) -> Vec<u8> {
    seal_bytes(book, &payload.to_bytes().unwrap())
}

/// A contact request carrying `pairing_code`.
pub fn request(pairing_code: String) -> Payload {
    Payload::ContactRequest(ContactRequest {
        id: MessageId::from_bytes(rand::random()),
        sent_at: Timestamp::from_millis(1),
        pairing_code,
        greeting: Some("hello".into()),
    })
}

/// A text message.
pub fn text(body: &str) -> Payload {
    Payload::Text(Text {
        id: MessageId::from_bytes(rand::random()),
        sent_at: Timestamp::from_millis(1),
        body: body.into(),
        reply_to: None,
    })
}

/// `len` random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
}

/// `code` with one bit of its signature flipped and its checksum
/// recomputed: it decodes, but the signature no longer verifies.
pub fn with_bad_signature(code: &str) -> String {
    const CHECKSUM: usize = 4;
    const SIGNATURE: usize = 64;
    let (prefix, encoded) = code.split_at(code.find('/').unwrap() + 1);
    let mut payload = data_encoding::BASE32_NOPAD
        .decode(encoded.as_bytes())
        .unwrap();
    payload.truncate(payload.len() - CHECKSUM);
    let at = payload.len() - SIGNATURE;
    payload[at] ^= 0x01;
    let checksum = Sha256::digest(&payload);
    payload.extend_from_slice(&checksum[..CHECKSUM]);
    format!("{prefix}{}", data_encoding::BASE32_NOPAD.encode(&payload))
}

/// A bare libp2p peer (TCP, Noise, Yamux, nothing else) that opens
/// `/wren/dm/1` streams and writes whatever bytes it is given on them,
/// length prefix included, instead of a well-formed request.
pub struct Wire {
    swarm: Swarm<request_response::Behaviour<WireCodec>>,
    peer: PeerId,
    addr: Multiaddr,
}

impl Wire {
    /// A new identity that will talk to `peer` at `addr`. Needs a Tokio
    /// runtime context.
    pub fn new(peer: PeerId, addr: Multiaddr) -> Wire {
        let swarm = SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    WireCodec,
                    [(wren_net::dm::PROTOCOL, ProtocolSupport::Outbound)],
                    request_response::Config::default(),
                )
            })
            .unwrap()
            .build();
        Wire { swarm, peer, addr }
    }

    /// Writes `bytes` on a new `/wren/dm/1` stream and closes its write
    /// side; returns everything the peer wrote back before closing, or why
    /// the exchange failed.
    pub async fn exchange(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let id = self.swarm.behaviour_mut().send_request_with_addresses(
            &self.peer,
            bytes,
            vec![self.addr.clone()],
        );
        loop {
            match self.swarm.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                }) if request_id == id => return Ok(response),
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    request_id,
                    error,
                    ..
                }) if request_id == id => return Err(error.to_string()),
                _ => {}
            }
        }
    }
}

/// Frames `frame` with its big-endian `u32` length, as a well-behaved
/// writer would.
pub fn length_prefixed(frame: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(frame.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(frame);
    out
}

/// Requests are raw bytes written as they are; responses are whatever the
/// peer writes before it closes (at most 64 KiB).
#[derive(Debug, Clone, Copy, Default)]
pub struct WireCodec;

impl request_response::Codec for WireCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(io::ErrorKind::Unsupported.into())
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut bytes = Vec::new();
        io.take(64 * 1024).read_to_end(&mut bytes).await?;
        if bytes.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(bytes)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        bytes: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&bytes).await?;
        io.flush().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Err(io::ErrorKind::Unsupported.into())
    }
}
