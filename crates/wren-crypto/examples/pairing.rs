//! Two people pair with a pairing code, compare safety numbers and talk.
//!
//! `cargo run --release -p wren-crypto --example pairing`
//!
//! Everything here is what the messenger does underneath, minus the network:
//! Bob shows his pairing code (a `wren:` URI, or the same text in a QR code),
//! Alice parses and verifies it, starts an X3DH session and sends a first
//! message; Bob answers; both show the same safety number.

use std::time::{SystemTime, UNIX_EPOCH};

use wren_crypto::{
    IdentityKeyPair, NetworkHint, OutboundMessage, PairingCode, PrekeyMessage, SafetyNumber,
    SessionBook, SignedPrekeys,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = rand::rng();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let bob_prekeys = SignedPrekeys::new(&bob, now, &mut rng);

    let code = PairingCode::new(
        &bob,
        bob_prekeys.current().public(),
        "Bob",
        vec![NetworkHint::Address(
            "/ip4/192.0.2.10/udp/4001/quic-v1".into(),
        )],
    )?;
    let uri = code.to_uri();
    println!("Bob's pairing code ({} characters):\n  {uri}\n", uri.len());
    println!("Bob's peer id:      {}", bob.public().peer_id());
    println!("Bob's fingerprint:  {}\n", bob.public().fingerprint());

    // Alice scans the code: parsing checks the checksum and both signatures.
    let scanned = PairingCode::parse(&uri)?;
    println!("Alice scanned a code from {:?}", scanned.display_name());
    let mut alice_book = SessionBook::new(*scanned.identity());
    alice_book.initiate(&alice, &scanned.bundle(), &mut rng)?;
    let first = alice_book.encrypt(b"Hi Bob, it's Alice!", &mut rng)?;

    // Bob receives the prekey message and looks up the signed prekey it names.
    let OutboundMessage::Prekey(bytes) = &first else {
        return Err("expected a prekey message".into());
    };
    let prekey_message = PrekeyMessage::parse(bytes)?;
    let mut bob_book = SessionBook::new(*prekey_message.identity());
    let spk = bob_prekeys.get(prekey_message.signed_prekey_id(), now);
    let outcome = bob_book.receive_prekey(&bob, spk, None, &prekey_message)?;
    println!(
        "Bob received:   {}",
        String::from_utf8_lossy(&outcome.plaintext)
    );

    let reply = bob_book.encrypt(b"Hello Alice!", &mut rng)?;
    println!(
        "Alice received: {}",
        String::from_utf8_lossy(&alice_book.decrypt(reply.bytes())?)
    );
    for text in ["How are you?", "All good here."] {
        let m = alice_book.encrypt(text.as_bytes(), &mut rng)?;
        println!(
            "Bob received:   {} ({} bytes on the wire)",
            String::from_utf8_lossy(&bob_book.decrypt(m.bytes())?),
            m.bytes().len()
        );
    }

    println!(
        "\nSafety number (Alice's screen): {}",
        SafetyNumber::new(alice.public(), bob.public())
    );
    println!(
        "Safety number (Bob's screen):   {}",
        SafetyNumber::new(bob.public(), alice.public())
    );
    Ok(())
}
