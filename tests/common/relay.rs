//! Drives a real `wren-relay` process: init, users, run, read its stdout
//! lines (docs/relay.md, "Standard output"), SIGKILL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use crate::common::HANG_GUARD;

/// The `wren-relay` binary, built next to `wren-cli` by
/// `cargo test --workspace` (the relay crate's own tests build it).
pub fn wren_relay() -> PathBuf {
    let cli = crate::common::wren_cli();
    let path = cli.with_file_name(format!("wren-relay{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the end-to-end tests with `cargo test --workspace` \
         (or `cargo build -p wren-relay` first)",
        path.display()
    );
    path
}

/// Runs a one-shot `wren-relay` command; returns stdout, panics on failure.
pub fn relay_cli(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(wren_relay())
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "wren-relay {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Creates a relay directory owned by `owner` (a pairing code or peer id)
/// with these users authorised.
pub fn init_relay(dir: &Path, owner: &str, users: &[&str]) {
    relay_cli(dir, &["init", "--owner", owner]);
    for user in users {
        relay_cli(dir, &["users", "add", user]);
    }
}

/// Rewrites one `key = value` line of the relay's config.
pub fn set_config(dir: &Path, key: &str, value: &str) {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = false;
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with(&format!("{key} =")) {
                found = true;
                format!("{key} = {value}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(found, "no {key} in the relay config");
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
}

/// A running `wren-relay run` process.
pub struct Relay {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its listen addresses, each ending in `/p2p/PEER_ID`.
    pub addrs: Vec<String>,
    /// Its relay code.
    pub code: String,
    pub peer_id: String,
    /// Its HTTP listener (`host:port`).
    pub http: String,
}

impl Relay {
    /// Runs the relay of `dir` listening on `listen` (HTTP on a free
    /// loopback port); returns once it printed `ready`.
    pub fn start(dir: &Path, listen: &[&str]) -> Relay {
        Relay::start_wrapped(&[], dir, listen)
    }

    /// Like [`Relay::start`], with the relay running inside the network
    /// namespace `netns` (`ip netns exec NETNS wren-relay …`; `ip` is the
    /// path of the `ip` tool). Its HTTP listener is on that namespace's
    /// loopback.
    pub fn start_in_netns(ip: &Path, netns: &str, dir: &Path, listen: &[&str]) -> Relay {
        let ip = ip.to_str().unwrap();
        Relay::start_wrapped(&[ip, "netns", "exec", netns], dir, listen)
    }

    /// Like [`Relay::start`], with `wren-relay` started through the command
    /// `wrapper` (its program and arguments; empty: none), which must exec
    /// it (so that the child is the relay itself).
    pub fn start_wrapped(wrapper: &[&str], dir: &Path, listen: &[&str]) -> Relay {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(wren_relay());
                command
            }
            None => Command::new(wren_relay()),
        };
        command
            .args(["run", "--http", "127.0.0.1:0", "--dir"])
            .arg(dir);
        for addr in listen {
            command.args(["--listen", addr]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut relay = Relay {
            child,
            lines,
            addrs: Vec::new(),
            code: String::new(),
            peer_id: String::new(),
            http: String::new(),
        };
        loop {
            let line = relay.next_line("ready");
            if let Some(addr) = line.strip_prefix("listening ") {
                relay.addrs.push(addr.to_owned());
            } else if let Some(code) = line.strip_prefix("relay-code ") {
                relay.code = code.to_owned();
            } else if let Some(id) = line.strip_prefix("peer-id ") {
                relay.peer_id = id.to_owned();
            } else if let Some(http) = line.strip_prefix("http ") {
                relay.http = http.to_owned();
            } else if line == "ready" {
                break;
            }
        }
        relay
    }

    /// The next stdout line.
    pub fn next_line(&mut self, what: &str) -> String {
        self.lines
            .recv_timeout(HANG_GUARD)
            .unwrap_or_else(|_| panic!("wren-relay printed nothing while waiting for {what}"))
    }

    /// The first TCP listen address (without `/p2p/…`), for a restart on
    /// the same port.
    pub fn tcp_listen(&self) -> String {
        let addr = self
            .addrs
            .iter()
            .find(|a| a.contains("/tcp/"))
            .unwrap()
            .clone();
        addr.split("/p2p/").next().unwrap().to_owned()
    }

    /// The value of a metric without labels (`wren_relay_NAME`), read from
    /// `GET /metrics` (docs/relay.md, "Operations").
    pub fn metric(&self, name: &str) -> u64 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.http).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let prefix = format!("wren_relay_{name} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in the relay's metrics"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `metric(name)` reaches `at_least`, asking again every
    /// 50 ms (the relay announces no such event); fails after
    /// [`HANG_GUARD`].
    pub fn wait_metric(&self, name: &str, at_least: u64) -> u64 {
        let deadline = std::time::Instant::now() + HANG_GUARD;
        loop {
            let value = self.metric(name);
            if value >= at_least {
                return value;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the relay's {name} stayed at {value} (waiting for {at_least})"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
