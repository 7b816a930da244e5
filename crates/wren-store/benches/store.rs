//! wren-store against raw redb with the same key/value shapes, side by side
//! in the same run (issue 3's targets):
//!
//! - `append_single`: one durable commit per message (session + message +
//!   id index + outbox).
//! - `append_batch100`: 100 messages per commit.
//! - `last50`: the newest 50 messages of a conversation among
//!   `WREN_BENCH_MESSAGES` (default 100,000; the figure is
//!   1,000,000), decoded and decrypted; raw = range read + XChaCha20-Poly1305
//!   open of each value.
//!
//! `cargo bench -p wren-store --bench store`. Also prints bytes written per
//! single-message commit (from /proc/self/io).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, criterion_group, criterion_main};
use redb::{ReadableDatabase, TableDefinition};
use wren_crypto::{IdentityKeyPair, SessionBook};
use wren_store::{MessageStatus, NewMessage, NewOutbox, Order, Outgoing, Store, Unlock};

const RAW_MESSAGES: TableDefinition<'static, (u64, u64), &[u8]> = TableDefinition::new("messages");
const RAW_IDS: TableDefinition<'static, [u8; 16], (u64, u64)> = TableDefinition::new("ids");
const RAW_SESSIONS: TableDefinition<'static, [u8; 32], &[u8]> = TableDefinition::new("sessions");
const RAW_OUTBOX: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("outbox");

/// A text payload of a typical chat message.
const BODY_BYTES: usize = 120;
/// Envelope size of such a message.
const ENVELOPE_BYTES: usize = 220;

fn id_of(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id
}

struct Fixture {
    contact: [u8; 32],
    book: SessionBook,
    session_bytes: Vec<u8>,
}

fn fixture() -> Fixture {
    let pair = IdentityKeyPair::from_secret_bytes(&[3; 32]);
    let book = SessionBook::new(*pair.public());
    let session_bytes = book.to_bytes().to_vec();
    Fixture {
        contact: pair.public().to_bytes(),
        book,
        session_bytes,
    }
}

fn outgoing(f: &Fixture, conversation: u64, n: u64) -> Outgoing<'_> {
    Outgoing {
        conversation,
        session: &f.book,
        message: NewMessage {
            id: id_of(n),
            sender: [0; 32],
            sent_at: n,
            received_at: n,
            content: vec![b'x'; BODY_BYTES],
            status: MessageStatus::Sending,
        },
        outbox: NewOutbox {
            recipient: f.contact,
            envelope: vec![7; ENVELOPE_BYTES],
            next_retry_ms: n,
        },
    }
}

fn raw_insert(txn: &redb::WriteTransaction, f: &Fixture, n: u64, message: &[u8]) {
    txn.open_table(RAW_MESSAGES)
        .unwrap()
        .insert((1, n), message)
        .unwrap();
    txn.open_table(RAW_IDS)
        .unwrap()
        .insert(id_of(n), (1, n))
        .unwrap();
    txn.open_table(RAW_SESSIONS)
        .unwrap()
        .insert(f.contact, f.session_bytes.as_slice())
        .unwrap();
    txn.open_table(RAW_OUTBOX)
        .unwrap()
        .insert(n, [7u8; ENVELOPE_BYTES].as_slice())
        .unwrap();
}

fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes: ").map(str::to_owned))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn appends(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = std::sync::Arc::new(fixture());
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(Store::open(dir.path(), Unlock::KeyFile))
        .unwrap();
    let contact = f.contact;
    let conv = rt
        .block_on(store.write(move |tx| tx.direct_conversation(&contact, 0)))
        .unwrap();
    let raw = redb::Database::create(dir.path().join("raw.redb")).unwrap();
    // Raw values have the size of the store's sealed message values.
    let message = vec![0u8; BODY_BYTES + 120];

    let mut n = 0u64;
    let mut group = c.benchmark_group("append_single");
    group.bench_function("raw", |b| {
        b.iter(|| {
            n += 1;
            let txn = raw.begin_write().unwrap();
            raw_insert(&txn, &f, n, &message);
            txn.commit().unwrap();
        })
    });
    group.bench_function("store", |b| {
        b.iter(|| {
            n += 1;
            let f = f.clone();
            let n = n;
            rt.block_on(store.write(move |tx| tx.record_outgoing(outgoing(&f, conv, n))))
                .unwrap();
        })
    });
    group.finish();

    let mut group = c.benchmark_group("append_batch100");
    group.bench_function("raw", |b| {
        b.iter(|| {
            let txn = raw.begin_write().unwrap();
            for _ in 0..100 {
                n += 1;
                raw_insert(&txn, &f, n, &message);
            }
            txn.commit().unwrap();
        })
    });
    group.bench_function("store", |b| {
        b.iter(|| {
            let f = f.clone();
            let start = n;
            n += 100;
            rt.block_on(store.write(move |tx| {
                for k in 1..=100 {
                    tx.record_outgoing(outgoing(&f, conv, start + k))?;
                }
                Ok(())
            }))
            .unwrap();
        })
    });
    group.finish();

    // Bytes written per single-message commit.
    let commits = 200u64;
    let before = bytes_written();
    for _ in 0..commits {
        n += 1;
        let txn = raw.begin_write().unwrap();
        raw_insert(&txn, &f, n, &message);
        txn.commit().unwrap();
    }
    let raw_bytes = bytes_written().saturating_sub(before) / commits;
    let before = bytes_written();
    for _ in 0..commits {
        n += 1;
        let f = f.clone();
        let k = n;
        rt.block_on(store.write(move |tx| tx.record_outgoing(outgoing(&f, conv, k))))
            .unwrap();
    }
    let store_bytes = bytes_written().saturating_sub(before) / commits;
    eprintln!("bytes written per single-message commit: raw {raw_bytes}, store {store_bytes}");
}

fn last50(c: &mut Criterion) {
    let total: u64 = std::env::var("WREN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = std::sync::Arc::new(fixture());
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(Store::open(dir.path(), Unlock::KeyFile))
        .unwrap();
    let contact = f.contact;
    let conv = rt
        .block_on(store.write(move |tx| tx.direct_conversation(&contact, 0)))
        .unwrap();
    let raw = redb::Database::create(dir.path().join("raw.redb")).unwrap();
    let key = [9u8; 32];
    let cipher = XChaCha20Poly1305::new(&key.into());
    let nonce = XNonce::from([1u8; 24]);
    let mut n = 0u64;
    while n < total {
        let start = n;
        let count = 1_000.min(total - n);
        n += count;
        let ff = f.clone();
        rt.block_on(store.write(move |tx| {
            for k in 1..=count {
                tx.record_outgoing(outgoing(&ff, conv, start + k))?;
            }
            Ok(())
        }))
        .unwrap();
        let txn = raw.begin_write().unwrap();
        {
            let mut table = txn.open_table(RAW_MESSAGES).unwrap();
            for k in 1..=count {
                let mut value = nonce.to_vec();
                value.extend(
                    cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &[b'x'; BODY_BYTES + 60],
                                aad: b"messages",
                            },
                        )
                        .unwrap(),
                );
                table.insert((1, start + k), value.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    let mut group = c.benchmark_group("last50");
    group.bench_function("raw", |b| {
        b.iter(|| {
            let txn = raw.begin_read().unwrap();
            let table = txn.open_table(RAW_MESSAGES).unwrap();
            let mut out = Vec::with_capacity(50);
            for entry in table.range((1, 0)..=(1, u64::MAX)).unwrap().rev().take(50) {
                let (_, v) = entry.unwrap();
                let (nonce, ciphertext) = v.value().split_at(24);
                let nonce: [u8; 24] = nonce.try_into().unwrap();
                out.push(
                    cipher
                        .decrypt(
                            &XNonce::from(nonce),
                            Payload {
                                msg: ciphertext,
                                aad: b"messages",
                            },
                        )
                        .unwrap(),
                );
            }
            black_box(out)
        })
    });
    group.bench_function("store", |b| {
        b.iter(|| {
            let page = rt
                .block_on(store.read(move |tx| tx.messages(conv, None, Order::NewestFirst, 50)))
                .unwrap();
            assert_eq!(page.len(), 50);
            black_box(page)
        })
    });
    group.finish();
}

criterion_group!(benches, appends, last50);
criterion_main!(benches);
