//! Wren's headless relay.
//!
//! A relay runs on a small server and serves the Wren users its owner
//! authorises:
//!
//! - **circuit relay v2** (with identify, ping and an AutoNAT v2 server) so
//!   that peers behind NAT are reachable, until DCUtR hole punching
//!   upgrades the connection;
//! - **`/wren/mailbox/1`**: encrypted envelopes held for offline recipients
//!   until they fetch and acknowledge them. The relay cannot read them (they
//!   are end-to-end encrypted Wren envelopes), stores them durably before
//!   acknowledging (redb, group commit on a dedicated thread), and enforces
//!   quotas, a per-depositor rate and a TTL.
//!
//! Modules: [`config`] (the TOML file and its checks), [`limits`] (every
//! bound and default), [`keyfile`] (the identity), [`access`] (owner, users
//! and the users file), [`store`] (the mailboxes), [`rate`] (depositor
//! token buckets), [`server`] (the swarm task), [`metrics`] and [`http`]
//! (operations). The `wren-relay` binary wires them to a command line; its
//! interface is documented in docs/relay.md.

#![deny(missing_docs)]

pub mod access;
pub mod config;
pub mod fsutil;
pub mod http;
pub mod keyfile;
pub mod limits;
pub mod metrics;
pub mod rate;
pub mod server;
pub mod store;

/// Writes one line to standard output and flushes it at once (the lines
/// scripts and tests read; formats in docs/relay.md).
pub fn stdout_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
