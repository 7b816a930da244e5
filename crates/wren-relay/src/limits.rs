//! Every bound and default of the relay, as named constants.
//!
//! Configurable values come as a pair: `DEFAULT_*` (what `init` writes) and
//! the range the config accepts (`MIN_*`/`MAX_*`). The others bound memory
//! and queues inside the process. Each constant has a test at its limit
//! (here, in `config.rs`, or next to the code that enforces it).

use std::time::Duration;

// ---- network ----------------------------------------------------------------

/// The port `init` puts in the default listen addresses (TCP and QUIC).
pub const DEFAULT_PORT: u16 = 4001;

/// Most listen addresses in the config or on the command line.
pub const MAX_LISTEN_ADDRESSES: usize = 16;

/// Most configured external addresses. A relay code holds at most eight
/// addresses, so that is also the most a relay advertises.
pub const MAX_EXTERNAL_ADDRESSES: usize = wren_net::limits::MAX_RELAY_CODE_ADDRS;

/// Default time a connection without open streams, reservation or circuit
/// stays open, in seconds.
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT_SECS: u64 = 60;
/// Longest idle timeout the config accepts (one day).
pub const MAX_IDLE_CONNECTION_TIMEOUT_SECS: u64 = 86_400;

/// Default bound on established connections (all peers together).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
/// Largest connection bound the config accepts.
pub const MAX_MAX_CONNECTIONS: u32 = 1_000_000;

/// Default bound on established connections with one peer.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: u32 = 8;
/// Largest per-peer connection bound the config accepts.
pub const MAX_MAX_CONNECTIONS_PER_PEER: u32 = 64;

// ---- circuit relay v2 ---------------------------------------------------------

/// Default bound on reservations held at once (all peers).
pub const DEFAULT_MAX_RESERVATIONS: usize = 1_024;
/// Largest reservation bound the config accepts.
pub const MAX_MAX_RESERVATIONS: usize = 100_000;

/// Default bound on reservations held by one peer.
pub const DEFAULT_MAX_RESERVATIONS_PER_PEER: usize = 4;
/// Largest per-peer reservation bound the config accepts.
pub const MAX_MAX_RESERVATIONS_PER_PEER: usize = 64;

/// Default lifetime of a reservation before the client must renew it (1 h).
pub const DEFAULT_RESERVATION_DURATION_SECS: u64 = 3_600;
/// Shortest reservation lifetime the config accepts.
pub const MIN_RESERVATION_DURATION_SECS: u64 = 60;
/// Longest reservation lifetime the config accepts (one day).
pub const MAX_RESERVATION_DURATION_SECS: u64 = 86_400;

/// Default bound on circuits open at once (all peers).
pub const DEFAULT_MAX_CIRCUITS: usize = 256;
/// Largest circuit bound the config accepts.
pub const MAX_MAX_CIRCUITS: usize = 100_000;

/// Default bound on circuits open at once per peer.
pub const DEFAULT_MAX_CIRCUITS_PER_PEER: usize = 8;
/// Largest per-peer circuit bound the config accepts.
pub const MAX_MAX_CIRCUITS_PER_PEER: usize = 256;

/// Default lifetime of one circuit (10 min: long enough for a conversation
/// while hole punching upgrades the connection).
pub const DEFAULT_MAX_CIRCUIT_DURATION_SECS: u64 = 600;
/// Longest circuit lifetime the config accepts (one day).
pub const MAX_MAX_CIRCUIT_DURATION_SECS: u64 = 86_400;

/// Default bytes relayed per circuit (1 MiB, both directions together).
pub const DEFAULT_MAX_CIRCUIT_BYTES: u64 = 1_048_576;
/// Largest per-circuit byte bound the config accepts (1 GiB).
pub const MAX_MAX_CIRCUIT_BYTES: u64 = 1 << 30;

// ---- mailbox ------------------------------------------------------------------

/// Largest envelope the relay can store: the wire maximum of
/// `/wren/mailbox/1` (64 KiB). The config may lower it.
pub const MAX_ENVELOPE_BYTES: usize = wren_net::limits::MAX_ENVELOPE_BYTES;

/// Default largest envelope accepted for storage.
pub const DEFAULT_MAX_ENVELOPE_BYTES: usize = MAX_ENVELOPE_BYTES;

/// Default bound on messages held for one recipient.
pub const DEFAULT_MAX_MESSAGES_PER_MAILBOX: u64 = 10_000;
/// Largest per-mailbox message bound the config accepts.
pub const MAX_MAX_MESSAGES_PER_MAILBOX: u64 = 10_000_000;

/// Default bound on envelope bytes held for one recipient (64 MiB).
pub const DEFAULT_MAX_BYTES_PER_MAILBOX: u64 = 64 * 1_048_576;
/// Largest per-mailbox byte bound the config accepts (16 GiB).
pub const MAX_MAX_BYTES_PER_MAILBOX: u64 = 16 * 1_073_741_824;

/// Default bound on non-empty mailboxes (matters in open mode; in
/// restricted mode only authorised users have one).
pub const DEFAULT_MAX_MAILBOXES: u64 = 10_000;
/// Largest mailbox-count bound the config accepts.
pub const MAX_MAX_MAILBOXES: u64 = 10_000_000;

/// Default time a message is kept before it is purged unfetched (14 days).
pub const DEFAULT_TTL_SECS: u64 = 14 * 86_400;
/// Shortest TTL the config accepts (one minute).
pub const MIN_TTL_SECS: u64 = 60;
/// Longest TTL the config accepts (one year).
pub const MAX_TTL_SECS: u64 = 365 * 86_400;

/// Default interval between TTL purges (10 min).
pub const DEFAULT_PURGE_INTERVAL_SECS: u64 = 600;
/// Longest purge interval the config accepts (one day).
pub const MAX_PURGE_INTERVAL_SECS: u64 = 86_400;

/// Default sustained deposit rate per depositing peer, in envelopes per
/// second (token bucket refill).
pub const DEFAULT_DEPOSIT_RATE_PER_SEC: u32 = 10;
/// Largest deposit rate the config accepts.
pub const MAX_DEPOSIT_RATE_PER_SEC: u32 = 1_000_000;

/// Default burst of envelopes one depositor may send at once (bucket size):
/// two full deposit batches, so an outbox of offline messages goes through.
pub const DEFAULT_DEPOSIT_BURST: u32 = 512;
/// Largest burst the config accepts.
pub const MAX_DEPOSIT_BURST: u32 = 10_000_000;

/// Most depositors whose token bucket is remembered. When the map is full,
/// buckets that have refilled completely are forgotten (they carry no
/// state); if none has, a new depositor is refused as rate limited.
pub const MAX_RATE_BUCKETS: usize = 65_536;

/// Most users (besides the owner) a restricted relay authorises: the most a
/// `users` response can list.
pub const MAX_USERS: usize = wren_net::limits::MAX_USERS_LISTED;

/// Largest users file read, in bytes (4 096 peer ids of ≈ 53 characters
/// plus comments fit many times over).
pub const MAX_USERS_FILE_BYTES: u64 = 1_048_576;

/// Largest config file read, in bytes.
pub const MAX_CONFIG_FILE_BYTES: u64 = 65_536;

/// How often the running relay checks the users file for changes made by
/// `wren-relay users` (SIGHUP re-reads it at once).
pub const USERS_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

// ---- store --------------------------------------------------------------------

/// Capacity of the queue from the swarm task to the store thread. When it is
/// full, requests are refused as unavailable at once (the swarm never waits).
pub const STORE_QUEUE_CAPACITY: usize = 1_024;

/// Most store commands grouped into one write transaction (one fsync).
pub const MAX_COMMANDS_PER_COMMIT: usize = 256;

/// Most mailbox requests waiting for the store at once; beyond it new ones
/// are refused as unavailable.
pub const MAX_PENDING_STORE_REPLIES: usize = 1_024;

/// Most expired messages removed in one purge transaction; a purge repeats
/// until nothing expired is left.
pub const MAX_PURGED_PER_COMMIT: usize = 10_000;

// ---- operations -----------------------------------------------------------------

/// Default address of the HTTP listener (metrics and status page).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9477";

/// Most HTTP connections served at once; others wait in the accept queue.
pub const MAX_HTTP_CONNECTIONS: usize = 64;

/// Longest time an HTTP connection may take to send its request headers.
pub const HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time a graceful shutdown waits for in-flight store work.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Default request-response timeout for mailbox requests.
pub const MAILBOX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Most concurrent mailbox streams (inbound, all peers together).
pub const MAX_MAILBOX_STREAMS: usize = 1_024;

const _: () = {
    assert!(DEFAULT_MAX_ENVELOPE_BYTES <= MAX_ENVELOPE_BYTES);
    assert!(DEFAULT_TTL_SECS >= MIN_TTL_SECS && DEFAULT_TTL_SECS <= MAX_TTL_SECS);
    assert!(DEFAULT_PURGE_INTERVAL_SECS <= MAX_PURGE_INTERVAL_SECS);
    assert!(DEFAULT_MAX_CIRCUIT_BYTES <= MAX_MAX_CIRCUIT_BYTES);
    assert!(DEFAULT_DEPOSIT_BURST <= MAX_DEPOSIT_BURST);
    assert!(MAX_COMMANDS_PER_COMMIT <= STORE_QUEUE_CAPACITY);
};
