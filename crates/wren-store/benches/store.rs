//! wren-store against raw redb with the same key/value shapes, side by side
//! in the same run (issue 3's targets):
//!
//! - `append_single`: one durable commit per message.
//! - `append_batch100`: 100 messages per commit.
//! - `last50`: the newest 50 messages of a conversation among
//!   `WREN_BENCH_MESSAGES` (default 1,000,000), decoded and decrypted.
//!
//! The raw side writes exactly the rows the store writes for a sent
//! message, with values of the same sizes, unsealed and unencoded: the
//! message block (read, extended, rewritten; a new block every
//! `BLOCK_MAX_MESSAGES`), the id index, the session, the outbox entry and
//! its schedule row, the conversation record and its activity row, and the
//! outbox counter. Per commit it touches each block, session, conversation
//! and counter once, as the store does. For `last50` it range-reads the same
//! blocks and opens each with XChaCha20-Poly1305, but decodes nothing.
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
use criterion::{Criterion, criterion_group};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use wren_crypto::{IdentityKeyPair, SessionBook};
use wren_store::{
    BLOCK_MAX_MESSAGES, MessageStatus, NewMessage, NewOutbox, Order, Outgoing, Store, Unlock,
};

const RAW_BLOCKS: TableDefinition<'static, (u64, u64), &[u8]> = TableDefinition::new("blocks");
const RAW_IDS: TableDefinition<'static, [u8; 16], (u64, u64)> = TableDefinition::new("ids");
const RAW_SESSIONS: TableDefinition<'static, [u8; 32], &[u8]> = TableDefinition::new("sessions");
const RAW_OUTBOX: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("outbox");
const RAW_DUE: TableDefinition<'static, (u64, u64), ()> = TableDefinition::new("due");
const RAW_CONVERSATIONS: TableDefinition<'static, u64, &[u8]> =
    TableDefinition::new("conversations");
const RAW_ACTIVITY: TableDefinition<'static, (u64, u64), ()> = TableDefinition::new("activity");
const RAW_META: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("meta");

/// A text payload of a typical chat message.
const BODY_BYTES: usize = 120;
/// Envelope size of such a message.
const ENVELOPE_BYTES: usize = 220;
/// Encoded size of a block entry around a body (id, sender, times,
/// direction, status, length prefix).
const ENTRY_BYTES: usize = BODY_BYTES + 62;
/// Seal overhead (version, nonce, tag).
const SEAL_BYTES: usize = 41;
/// Sealed size of a conversation record; encoded size of an outbox record
/// (not sealed).
const CONVERSATION_BYTES: usize = 110;
const OUTBOX_BYTES: usize = ENVELOPE_BYTES + 60;

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
    let session_bytes = vec![0; book.to_bytes().len() + SEAL_BYTES];
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

/// Raw redb doing the store's writes for messages `first..first + count`
/// of conversation 1 in one commit (`seal`: also seal each block as the
/// store does, for building the read benchmark's data).
fn raw_commit(
    raw: &redb::Database,
    f: &Fixture,
    first: u64,
    count: u64,
    seal: Option<&XChaCha20Poly1305>,
) {
    let txn = raw.begin_write().unwrap();
    {
        let mut blocks = txn.open_table(RAW_BLOCKS).unwrap();
        let mut ids = txn.open_table(RAW_IDS).unwrap();
        let mut outbox = txn.open_table(RAW_OUTBOX).unwrap();
        let mut due = txn.open_table(RAW_DUE).unwrap();
        let block_max = BLOCK_MAX_MESSAGES as u64;
        // The tail block, read once per commit.
        let last = first - 1;
        let mut tail_start = if last == 0 {
            first
        } else {
            last - (last - 1) % block_max
        };
        // (The sealed variant only ever starts at a block boundary.)
        let mut tail: Vec<u8> = if last == 0 || seal.is_some() {
            Vec::new()
        } else {
            blocks
                .get((1, tail_start))
                .unwrap()
                .map(|v| v.value().to_vec())
                .unwrap_or_default()
        };
        let write_tail =
            |blocks: &mut redb::Table<'_, (u64, u64), &[u8]>, start: u64, tail: &[u8]| match seal {
                Some(cipher) => {
                    let nonce = XNonce::from([1u8; 24]);
                    let mut value = nonce.to_vec();
                    value.extend(
                        cipher
                            .encrypt(
                                &nonce,
                                Payload {
                                    msg: tail,
                                    aad: b"blocks",
                                },
                            )
                            .unwrap(),
                    );
                    blocks.insert((1, start), value.as_slice()).unwrap();
                }
                None => {
                    let mut value = tail.to_vec();
                    value.resize(tail.len() + SEAL_BYTES, 0);
                    blocks.insert((1, start), value.as_slice()).unwrap();
                }
            };
        for n in first..first + count {
            if (n - 1) % block_max == 0 && n != tail_start {
                write_tail(&mut blocks, tail_start, &tail);
                tail.clear();
                tail_start = n;
            }
            tail.extend_from_slice(&[b'x'; ENTRY_BYTES]);
            ids.insert(id_of(n), (1, n)).unwrap();
            outbox.insert(n, [7u8; OUTBOX_BYTES].as_slice()).unwrap();
            due.insert((n, n), ()).unwrap();
        }
        write_tail(&mut blocks, tail_start, &tail);
    }
    txn.open_table(RAW_SESSIONS)
        .unwrap()
        .insert(f.contact, f.session_bytes.as_slice())
        .unwrap();
    txn.open_table(RAW_CONVERSATIONS)
        .unwrap()
        .insert(1, [5u8; CONVERSATION_BYTES].as_slice())
        .unwrap();
    {
        let mut activity = txn.open_table(RAW_ACTIVITY).unwrap();
        activity.remove((first - 1, 1)).unwrap();
        activity.insert((first + count - 1, 1), ()).unwrap();
    }
    txn.open_table(RAW_META)
        .unwrap()
        .insert("outbox_next", (first + count).to_be_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
}

/// A fresh store with one direct conversation, and a raw redb database
/// beside it (the directory lives as long as the returned guard).
fn stores(
    rt: &tokio::runtime::Runtime,
    f: &Fixture,
) -> (tempfile::TempDir, Store, u64, redb::Database) {
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(Store::open(dir.path(), Unlock::KeyFile))
        .unwrap();
    let contact = f.contact;
    let conv = rt
        .block_on(store.write(move |tx| tx.direct_conversation(&contact, 0)))
        .unwrap();
    let raw = redb::Database::create(dir.path().join("raw.redb")).unwrap();
    (dir, store, conv, raw)
}

/// Stores `total` messages on both sides for the read benchmark, in
/// commits of whole blocks (so the sealed raw side never extends one).
fn fill(
    rt: &tokio::runtime::Runtime,
    f: &std::sync::Arc<Fixture>,
    store: &Store,
    conv: u64,
    raw: &redb::Database,
    cipher: &XChaCha20Poly1305,
    total: u64,
) {
    let chunk = 32 * BLOCK_MAX_MESSAGES as u64;
    let mut filled = 0u64;
    while filled < total {
        let (start, count) = (filled, chunk.min(total - filled));
        filled += count;
        let ff = f.clone();
        rt.block_on(store.write(move |tx| {
            for k in 1..=count {
                tx.record_outgoing(outgoing(&ff, conv, start + k))?;
            }
            Ok(())
        }))
        .unwrap();
        raw_commit(raw, f, start + 1, count, Some(cipher));
    }
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
    let (_dir, store, conv, raw) = stores(&rt, &f);

    // Both sides get the same sequence numbers, so their blocks line up.
    let mut n = 0u64;
    let mut m = 0u64;
    let mut group = c.benchmark_group("append_single");
    group.bench_function("raw", |b| {
        b.iter(|| {
            m += 1;
            raw_commit(&raw, &f, m, 1, None);
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
            raw_commit(&raw, &f, m + 1, 100, None);
            m += 100;
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
        m += 1;
        raw_commit(&raw, &f, m, 1, None);
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

/// Raw redb's "last 50": range-read the newest blocks and open each, until
/// they hold 50 messages; nothing decoded.
fn raw_last50(raw: &redb::Database, cipher: &XChaCha20Poly1305) -> Vec<Vec<u8>> {
    let txn = raw.begin_read().unwrap();
    let table = txn.open_table(RAW_BLOCKS).unwrap();
    let mut out = Vec::with_capacity(4);
    let mut messages = 0;
    for entry in table.range((1, 0)..=(1, u64::MAX)).unwrap().rev() {
        let (_, v) = entry.unwrap();
        let (nonce, ciphertext) = v.value().split_at(24);
        let nonce: [u8; 24] = nonce.try_into().unwrap();
        let block = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: b"blocks",
                },
            )
            .unwrap();
        messages += block.len() / ENTRY_BYTES;
        out.push(block);
        if messages >= 50 {
            break;
        }
    }
    out
}

/// Reads every decoded field of every message of a page.
fn touch(page: &wren_store::MessagePage) {
    for view in page.iter() {
        let view = view.unwrap();
        black_box((
            view.seq(),
            view.id(),
            view.sender(),
            view.direction(),
            view.sent_at(),
            view.received_at(),
            view.content(),
            view.status(),
        ));
    }
}

fn last50(c: &mut Criterion) {
    let total: u64 = std::env::var("WREN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = std::sync::Arc::new(fixture());
    let (_dir, store, conv, raw) = stores(&rt, &f);
    let cipher = XChaCha20Poly1305::new(&[9u8; 32].into());
    fill(&rt, &f, &store, conv, &raw, &cipher, total);
    eprintln!("last50: {total} messages in each store");

    let mut group = c.benchmark_group("last50");
    group.bench_function("raw", |b| b.iter(|| black_box(raw_last50(&raw, &cipher))));
    // The same read timed inside the store thread: decoding and
    // decryption without the hop to the store thread and back.
    group.bench_function("store_in_thread", |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                total += rt
                    .block_on(store.read(move |tx| {
                        let start = std::time::Instant::now();
                        let page = tx.page(conv, None, Order::NewestFirst, 50)?;
                        touch(&page);
                        let elapsed = start.elapsed();
                        assert_eq!(page.len(), 50);
                        Ok(elapsed)
                    }))
                    .unwrap();
            }
            total
        })
    });
    // The hop alone: an empty read.
    group.bench_function("store_hop", |b| {
        b.iter(|| rt.block_on(store.read(|_| Ok(()))).unwrap())
    });
    group.bench_function("store", |b| {
        b.iter(|| {
            let page = rt
                .block_on(store.read(move |tx| tx.page(conv, None, Order::NewestFirst, 50)))
                .unwrap();
            touch(&page);
            assert_eq!(page.len(), 50);
            page
        })
    });
    // Owned messages (a copy of every content) instead of views.
    group.bench_function("store_owned", |b| {
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

/// Paired mode (`WREN_BENCH_PAIRED=1`): raw and store alternate operation
/// by operation, so that the disk's bimodal fsync latency and the machine's
/// other load hit both sides alike; prints each side's median and the
/// median of the per-pair ratios (with the 10th-90th percentiles).
fn paired() {
    let rounds: usize = std::env::var("WREN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let total: u64 = std::env::var("WREN_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let f = std::sync::Arc::new(fixture());
    let (_dir, store, conv, raw) = stores(&rt, &f);
    let (mut n, mut m) = (0u64, 0u64);
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    // Wall-clock time and the process's CPU time (all threads: the store
    // thread's work counts, the fsync wait does not).
    let time_both = |f: &mut dyn FnMut()| {
        let cpu = cpu_time::ProcessTime::now();
        let start = std::time::Instant::now();
        f();
        (start.elapsed().as_secs_f64(), cpu.elapsed().as_secs_f64())
    };

    let report = |name: &str, raw: Vec<f64>, store: Vec<f64>| {
        let mut ratios: Vec<f64> = store.iter().zip(&raw).map(|(s, r)| s / r).collect();
        ratios.sort_by(f64::total_cmp);
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "{name:<16} raw {:>9.1} µs  store {:>9.1} µs  ratio {:.3} (10-90 %: {:.3}-{:.3})",
            median(raw) * 1e6,
            median(store) * 1e6,
            ratios[ratios.len() / 2],
            ratios[ratios.len() / 10],
            ratios[ratios.len() * 9 / 10],
        );
    };

    let (mut raw_t, mut store_t, mut raw_c, mut store_c) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (wall, cpu) = time_both(&mut || {
            m += 1;
            raw_commit(&raw, &f, m, 1, None);
        });
        raw_t.push(wall);
        raw_c.push(cpu);
        let (wall, cpu) = time_both(&mut || {
            n += 1;
            let (f, k) = (f.clone(), n);
            rt.block_on(store.write(move |tx| tx.record_outgoing(outgoing(&f, conv, k))))
                .unwrap();
        });
        store_t.push(wall);
        store_c.push(cpu);
    }
    report("append_single", raw_t, store_t);
    report("  (CPU time)", raw_c, store_c);

    let (mut raw_t, mut store_t, mut raw_c, mut store_c) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds / 4 {
        let (wall, cpu) = time_both(&mut || {
            raw_commit(&raw, &f, m + 1, 100, None);
            m += 100;
        });
        raw_t.push(wall);
        raw_c.push(cpu);
        let (wall, cpu) = time_both(&mut || {
            let (f, start) = (f.clone(), n);
            n += 100;
            rt.block_on(store.write(move |tx| {
                for k in 1..=100 {
                    tx.record_outgoing(outgoing(&f, conv, start + k))?;
                }
                Ok(())
            }))
            .unwrap();
        });
        store_t.push(wall);
        store_c.push(cpu);
    }
    report("append_batch100", raw_t, store_t);
    report("  (CPU time)", raw_c, store_c);
    drop(store);
    drop(raw);

    // last50 on fresh files holding `total` messages each.
    let (_dir, store, conv, raw) = stores(&rt, &f);
    let cipher = XChaCha20Poly1305::new(&[9u8; 32].into());
    fill(&rt, &f, &store, conv, &raw, &cipher, total);
    let read_raw = || {
        black_box(raw_last50(&raw, &cipher));
    };
    let (mut raw_t, mut thread_t, mut async_t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds * 5 {
        raw_t.push(time(&mut || read_raw()));
        thread_t.push(
            rt.block_on(store.read(move |tx| {
                let start = std::time::Instant::now();
                let page = tx.page(conv, None, Order::NewestFirst, 50)?;
                touch(&page);
                let elapsed = start.elapsed().as_secs_f64();
                assert_eq!(page.len(), 50);
                Ok(elapsed)
            }))
            .unwrap(),
        );
        async_t.push(time(&mut || {
            let page = rt
                .block_on(store.read(move |tx| tx.page(conv, None, Order::NewestFirst, 50)))
                .unwrap();
            touch(&page);
            assert_eq!(page.len(), 50);
        }));
    }
    println!("last50 among {total} messages:");
    report("  in thread", raw_t.clone(), thread_t);
    report("  through API", raw_t, async_t);
}

fn main() {
    if std::env::var_os("WREN_BENCH_PAIRED").is_some() {
        paired();
    } else {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
