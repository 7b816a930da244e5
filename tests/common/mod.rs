//! Drives real `wren-cli` processes: spawn, read their JSON event lines,
//! write JSON command lines, kill them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub,
    missing_docs
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

/// A guard against a hung scenario (not a timing assertion): waiting for an
/// event longer than this fails the test with what was seen.
pub const HANG_GUARD: Duration = Duration::from_secs(180);

pub fn wren_cli() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wren-cli"))
}

/// Runs a one-shot `wren-cli` command; returns stdout, panics on failure.
pub fn cli(home: &Path, args: &[&str]) -> String {
    let output = Command::new(wren_cli())
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "wren-cli {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a one-shot command expected to fail; returns stderr.
pub fn cli_fails(home: &Path, args: &[&str]) -> String {
    let output = Command::new(wren_cli())
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "wren-cli {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

/// A `wren-cli run --json` process.
pub struct Peer {
    pub name: String,
    pub home: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    events: mpsc::Receiver<Value>,
    /// Every event seen so far, in order.
    pub seen: Vec<Value>,
    pub ready: Value,
}

impl Peer {
    /// Initialises `home` (if new) and runs the node listening on `listen`,
    /// with mDNS off.
    pub fn start(name: &str, home: &Path, listen: &str) -> Peer {
        Peer::start_with(name, home, &["--no-mdns", "--listen", listen])
    }

    /// Initialises `home` (if new) and runs `wren-cli run --json` with
    /// these extra arguments.
    pub fn start_with(name: &str, home: &Path, run_args: &[&str]) -> Peer {
        Peer::start_wrapped(name, home, &[], run_args)
    }

    /// Like [`Peer::start_with`], with the node running inside the network
    /// namespace `netns` (`ip netns exec NETNS wren-cli …`; `ip` is the
    /// path of the `ip` tool). The profile is initialised outside it.
    pub fn start_in_netns(
        name: &str,
        home: &Path,
        ip: &Path,
        netns: &str,
        run_args: &[&str],
    ) -> Peer {
        let ip = ip.to_str().unwrap();
        Peer::start_wrapped(name, home, &[ip, "netns", "exec", netns], run_args)
    }

    /// Like [`Peer::start_with`], with `wren-cli` started through the
    /// command `wrapper` (its program and arguments; empty: none), which
    /// must exec it (so that the child is the node itself).
    pub fn start_wrapped(name: &str, home: &Path, wrapper: &[&str], run_args: &[&str]) -> Peer {
        if !home.join("wren.redb").exists() {
            cli(home, &["init", "--name", name]);
        }
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(wren_cli());
                command
            }
            None => Command::new(wren_cli()),
        };
        let mut child = command
            .arg("--home")
            .arg(home)
            .args(["run", "--json"])
            .args(run_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut peer = Peer {
            name: name.to_owned(),
            home: home.to_owned(),
            child,
            stdin,
            events,
            seen: Vec::new(),
            ready: Value::Null,
        };
        peer.ready = peer.wait_for("ready", |e| e["event"] == "ready");
        peer
    }

    pub fn code(&self) -> String {
        self.ready["code"].as_str().unwrap().to_owned()
    }

    pub fn peer_id(&self) -> String {
        self.ready["peer_id"].as_str().unwrap().to_owned()
    }

    /// The first listen address on 127.0.0.1 (with its port).
    pub fn loopback_addr(&self) -> String {
        self.ready["listen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
            .unwrap()
    }

    /// Writes one command line.
    pub fn command(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Writes a raw line (for malformed-input checks).
    pub fn raw_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next event (recorded in `seen`).
    pub fn next(&mut self, what: &str) -> Value {
        match self.events.recv_timeout(HANG_GUARD) {
            Ok(event) => {
                self.seen.push(event.clone());
                event
            }
            Err(_) => panic!(
                "{}: no event while waiting for {what}; last events: {:?}",
                self.name,
                self.seen.iter().rev().take(10).collect::<Vec<_>>()
            ),
        }
    }

    /// Reads events until one matches; returns it.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let event = self.next(what);
            if matches(&event) {
                return event;
            }
        }
    }

    /// Like [`Peer::wait_for`], but gives up after `within` and returns
    /// `None` then (for events that may legitimately never come). Events
    /// already in `seen` are not looked at.
    pub fn wait_within(
        &mut self,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self.events.recv_timeout(left).ok()?;
            self.seen.push(event.clone());
            if matches(&event) {
                return Some(event);
            }
        }
    }

    /// The first event in `seen` that matches, else the next one to come
    /// within `within` (see [`Peer::wait_within`]).
    pub fn seen_or_wait_within(
        &mut self,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(event) = self.seen.iter().find(|e| matches(e)) {
            return Some(event.clone());
        }
        self.wait_within(within, matches)
    }

    /// Closes stdin (the node shuts down) and waits for the exit.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} exited with {status}", self.name);
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for an event matching `matches` from either peer, looking first
/// at their `seen` events from index `since.0` (of `a`) and `since.1` (of
/// `b`) on, then at new ones; gives up after `within`. Returns the event
/// and whether `a` (rather than `b`) had it.
pub fn wait_either(
    a: &mut Peer,
    b: &mut Peer,
    since: (usize, usize),
    within: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Option<(bool, Value)> {
    if let Some(event) = a.seen.iter().skip(since.0).find(|e| matches(e)) {
        return Some((true, event.clone()));
    }
    if let Some(event) = b.seen.iter().skip(since.1).find(|e| matches(e)) {
        return Some((false, event.clone()));
    }
    // Each peer's events arrive on its own channel: listen to each in turn
    // for a short slice (a wait on events, not a delay).
    let slice = Duration::from_millis(20);
    let deadline = std::time::Instant::now() + within;
    let mut open = [true, true];
    while std::time::Instant::now() < deadline && open.contains(&true) {
        for (n, peer) in [&mut *a, &mut *b].into_iter().enumerate() {
            if !open[n] {
                continue;
            }
            match peer.events.recv_timeout(slice) {
                Ok(event) => {
                    peer.seen.push(event.clone());
                    if matches(&event) {
                        return Some((n == 0, event));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => open[n] = false,
            }
        }
    }
    None
}

/// Pairs `a` and `b`: `a` adds `b`'s code with alias `b_alias`, `b` accepts;
/// returns once both have emitted `contact_added`.
pub fn pair(a: &mut Peer, b: &mut Peer, b_alias: &str, a_alias: &str) {
    let code = b.code();
    a.command(json!({"cmd": "add_contact", "code": code, "alias": b_alias}));
    let b_id = b.peer_id();
    a.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == b_id.as_str()
    });
    let a_id = a.peer_id();
    b.wait_for("contact_request", |e| {
        e["event"] == "contact_request" && e["from"] == a_id.as_str()
    });
    b.command(json!({"cmd": "accept", "contact": a_id, "alias": a_alias}));
    b.wait_for("contact_added", |e| {
        e["event"] == "contact_added" && e["peer_id"] == a_id.as_str()
    });
}
