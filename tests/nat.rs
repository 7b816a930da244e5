//! NAT traversal on one machine, with network namespaces: a public host
//! runs `wren-relay`; Ada and Bob each sit behind their own NAT router
//! (iptables MASQUERADE, and a stateful filter that drops unsolicited
//! inbound traffic), so neither can reach the other's private address. Both
//! reserve a slot on the relay, pair through it (each one's pairing code
//! carries the relay as a hint), chat both ways, and the test reports
//! whether DCUtR hole punching upgraded their connection to a direct one.
//!
//! Two variants: routers that keep the inside port (most home routers;
//! hole punching can work) and routers that give every connection a random
//! public port (it cannot, so the chat must work through the relay alone).
//!
//! What must hold is asserted: the topology is what it claims, and the
//! chat works (every message arrives once and is delivered), whatever
//! DCUtR does. The DCUtR outcome depends on the NATs and is the test's
//! report: a `NAT test (…): connection upgraded by DCUtR (direct)` or
//! `NAT test (…): stayed relayed (…)` line on stderr, printed also when
//! the output is captured.
//!
//! It needs root (or CAP_NET_ADMIN), `ip` (iproute2), `iptables` and
//! `bash`. Without them it skips with a prominent `SKIPPED:` line on
//! stderr; with `WREN_REQUIRE_NAT_TEST=1` (set by CI) it fails instead.
//!
//! ```text
//!                 public host "relay" 203.0.113.1 (wren-relay)
//!                               |
//!            namespace "ix": bridge br0, 203.0.113.0/24
//!              |                                  |
//!   router "rta" wan 203.0.113.11     router "rtb" wan 203.0.113.12
//!   MASQUERADE, lan 10.0.1.1/24       MASQUERADE, lan 10.0.2.1/24
//!              |                                  |
//!   client "a" (Ada) 10.0.1.2          client "b" (Bob) 10.0.2.2
//! ```
//!
//! The routers have no route to each other's private networks. Every name
//! carries the run's prefix (`wrennat-PID-N-…`), interfaces are created
//! directly inside their namespaces, and iptables rules live in the
//! routers' namespaces, so parallel runs do not collide and deleting the
//! namespaces removes everything. A guard deletes them also when the test
//! panics; namespaces left by a run that was killed (its process is gone)
//! are deleted, with their processes, by the next run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;
#[path = "common/relay.rs"]
mod relay;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Peer, cli, pair};
use relay::{Relay, relay_cli};
use serde_json::{Value, json};

/// Set to `1` to turn a skip into a failure (CI runs as root).
const REQUIRE: &str = "WREN_REQUIRE_NAT_TEST";
/// Every namespace of this test starts with this.
const PREFIX: &str = "wrennat-";

const PUBLIC_PREFIX: &str = "203.0.113.";
const RELAY_IP: &str = "203.0.113.1";
const RELAY_PORT: u16 = 4001;

/// How long to wait for DCUtR to report on a relayed connection. Not a
/// timing assertion: when nothing comes, that is the report.
const PUNCH_WAIT: Duration = Duration::from_secs(60);

/// Messages each way.
const MESSAGES: usize = 5;

/// How the routers pick the public port of a connection.
#[derive(Clone, Copy)]
enum Nat {
    /// MASQUERADE keeps the inside port when it is free (what most home
    /// routers do): the port a peer observed is the one to punch.
    PortPreserving,
    /// `MASQUERADE --random-fully`: every connection gets a random public
    /// port, so the port a peer observed is useless for another peer.
    PortRandomising,
}

impl Nat {
    fn label(self) -> &'static str {
        match self {
            Nat::PortPreserving => "port-preserving NATs",
            Nat::PortRandomising => "port-randomising NATs",
        }
    }
}

/// One client site: a NAT router and the client behind it.
struct Site {
    client: String,
    wan_ip: &'static str,
    client_ip: String,
}

/// The namespaces of one run. Dropping it deletes them.
struct Lab {
    ip: PathBuf,
    iptables: PathBuf,
    prefix: String,
    /// Created so far, in order.
    created: Vec<String>,
}

impl Lab {
    fn ns(&self, role: &str) -> String {
        format!("{}{role}", self.prefix)
    }

    /// Runs `ip ARGS`.
    fn ip(&self, args: &[&str]) -> Result<(), String> {
        run(&self.ip, args)
    }

    /// Runs `PROGRAM ARGS` inside `ns`.
    fn exec(&self, ns: &str, program: &Path, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["netns", "exec", ns, program.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&self.ip, &all)
    }

    /// Runs `iptables ARGS` inside `ns`.
    fn iptables(&self, ns: &str, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-w"];
        all.extend_from_slice(args);
        self.exec(ns, &self.iptables, &all)
    }

    fn add_netns(&mut self, role: &str) -> Result<String, String> {
        let ns = self.ns(role);
        self.ip(&["netns", "add", &ns])?;
        self.created.push(ns.clone());
        self.ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A veth pair `a_dev` in `a_ns` — `b_dev` in `b_ns`, both up.
    fn link(&self, a_ns: &str, a_dev: &str, b_ns: &str, b_dev: &str) -> Result<(), String> {
        self.ip(&[
            "-n", a_ns, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b_ns,
        ])?;
        self.ip(&["-n", a_ns, "link", "set", a_dev, "up"])?;
        self.ip(&["-n", b_ns, "link", "set", b_dev, "up"])
    }

    fn addr(&self, ns: &str, dev: &str, cidr: &str) -> Result<(), String> {
        self.ip(&["-n", ns, "addr", "add", cidr, "dev", dev])
    }

    /// Deletes this run's namespaces; returns the errors.
    fn teardown(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        while let Some(ns) = self.created.pop() {
            if let Err(error) = self.ip(&["netns", "delete", &ns]) {
                errors.push(error);
            }
        }
        errors
    }

    /// The namespaces that exist with this run's prefix.
    fn leftovers(&self) -> Vec<String> {
        netns_list(&self.ip)
            .into_iter()
            .filter(|ns| ns.starts_with(&self.prefix))
            .collect()
    }

    /// Builds the topology of the module comment; returns Ada's and Bob's
    /// sites and the relay's namespace.
    fn build(&mut self, nat: Nat) -> Result<(Site, Site, String), String> {
        let ix = self.add_netns("ix")?;
        let relay = self.add_netns("relay")?;
        self.ip(&["-n", &ix, "link", "add", "br0", "type", "bridge"])?;
        self.ip(&["-n", &ix, "link", "set", "br0", "up"])?;
        self.link(&ix, "p-relay", &relay, "wan")?;
        self.ip(&["-n", &ix, "link", "set", "p-relay", "master", "br0"])?;
        self.addr(&relay, "wan", &format!("{RELAY_IP}/24"))?;

        let mut sites = Vec::new();
        for (n, tag, wan_ip) in [(1, "a", "203.0.113.11"), (2, "b", "203.0.113.12")] {
            let router = self.add_netns(&format!("rt{tag}"))?;
            let client = self.add_netns(tag)?;
            let port = format!("p-rt{tag}");
            self.link(&ix, &port, &router, "wan")?;
            self.ip(&["-n", &ix, "link", "set", &port, "master", "br0"])?;
            self.addr(&router, "wan", &format!("{wan_ip}/24"))?;
            self.link(&router, "lan", &client, "eth0")?;
            let lan_router_ip = format!("10.0.{n}.1");
            let client_ip = format!("10.0.{n}.2");
            self.addr(&router, "lan", &format!("{lan_router_ip}/24"))?;
            self.addr(&client, "eth0", &format!("{client_ip}/24"))?;
            self.ip(&[
                "-n",
                &client,
                "route",
                "add",
                "default",
                "via",
                &lan_router_ip,
            ])?;
            // The router: forwards, translates what leaves by its WAN side,
            // and lets in from there only what answers the inside.
            self.exec(
                &router,
                Path::new("sh"),
                &["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"],
            )?;
            let mut masquerade = vec!["-t", "nat", "-A", "POSTROUTING", "-o", "wan"];
            masquerade.extend(["-j", "MASQUERADE"]);
            if let Nat::PortRandomising = nat {
                masquerade.push("--random-fully");
            }
            self.iptables(&router, &masquerade)?;
            self.iptables(
                &router,
                &[
                    "-A",
                    "FORWARD",
                    "-i",
                    "wan",
                    "-o",
                    "lan",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "ESTABLISHED,RELATED",
                    "-j",
                    "ACCEPT",
                ],
            )?;
            self.iptables(
                &router,
                &["-A", "FORWARD", "-i", "wan", "-o", "lan", "-j", "DROP"],
            )?;
            // Like a home router, it ignores (rather than refuses with a
            // reset) what reaches its public address unsolicited.
            self.iptables(
                &router,
                &[
                    "-A",
                    "INPUT",
                    "-i",
                    "wan",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "ESTABLISHED,RELATED",
                    "-j",
                    "ACCEPT",
                ],
            )?;
            self.iptables(&router, &["-A", "INPUT", "-i", "wan", "-j", "DROP"])?;
            sites.push(Site {
                client,
                wan_ip,
                client_ip,
            });
        }
        let b = sites.pop().unwrap();
        let a = sites.pop().unwrap();
        Ok((a, b, relay))
    }

    /// For each `(namespace, host, port)`, whether a TCP connection from
    /// there to `host:port` opens (bash's `/dev/tcp`). The probes run
    /// together; `timeout` bounds those whose SYN is silently dropped.
    fn tcp_probes(&self, probes: &[(&str, &str, u16)]) -> Vec<bool> {
        let children: Vec<_> = probes
            .iter()
            .map(|(ns, host, port)| {
                Command::new(&self.ip)
                    .args(["netns", "exec", ns, "timeout", "5", "bash", "-c"])
                    .arg(format!("exec 3<>/dev/tcp/{host}/{port}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|mut child| child.wait().unwrap().success())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for error in self.teardown() {
            eprintln!("NAT test teardown: {error}");
        }
    }
}

/// Runs a command; the error names it with its stderr.
fn run(program: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{} {}`: {e}", program.display(), args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{} {}` failed ({}): {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn netns_list(ip: &Path) -> Vec<String> {
    let Ok(output) = Command::new(ip).args(["netns", "list"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Deletes namespaces of this test whose run's process is gone (a run
/// killed before its guard could clean up).
fn remove_stale(ip: &Path) {
    for ns in netns_list(ip) {
        let Some(rest) = ns.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            shout(&format!("NAT test: deleting the stale namespace {ns}"));
            // Its processes (that run's nodes and relay) first.
            if let Ok(output) = Command::new(ip).args(["netns", "pids", &ns]).output() {
                for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = run(ip, &["netns", "delete", &ns]);
        }
    }
}

/// A program in `PATH` or the usual system directories (`ip` and
/// `iptables` live in `/usr/sbin`, often not in a user's `PATH`).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Writes to the process's stderr directly: the test harness captures
/// `eprintln!` of passing tests, and a skip or the report must be seen.
fn shout(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Skips loudly, or fails when [`REQUIRE`] is set.
fn skip(reason: &str) {
    if std::env::var(REQUIRE).as_deref() == Ok("1") {
        panic!("the NAT test cannot run here, and {REQUIRE}=1 requires it: {reason}");
    }
    let bar = "=".repeat(78);
    shout(&format!(
        "\n{bar}\nSKIPPED: e2e_nat (NAT traversal through network namespaces) did not run: \
         {reason}\n  It needs root, `ip` (iproute2), `iptables` and `bash`. \
         Set {REQUIRE}=1 to make this a failure.\n{bar}\n"
    ));
}

/// The lab, or why it cannot be built here.
fn lab() -> Result<Lab, String> {
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Err(format!("not running as root (effective uid {uid})")),
        None => return Err("cannot tell the effective user id".to_owned()),
    }
    let ip = find_tool("ip").ok_or("`ip` (iproute2) is not installed")?;
    let iptables = find_tool("iptables").ok_or("`iptables` is not installed")?;
    for tool in ["bash", "timeout", "sh"] {
        find_tool(tool).ok_or(format!("`{tool}` is not installed"))?;
    }
    remove_stale(&ip);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let prefix = format!(
        "{PREFIX}{}-{}-",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    Ok(Lab {
        ip,
        iptables,
        prefix,
        created: Vec::new(),
    })
}

/// The node's listen addresses so far: its `ready` event's and the
/// `listening` events seen since.
fn listen_addrs(peer: &Peer) -> Vec<String> {
    let ready = peer.ready["listen"].as_array().unwrap().iter();
    let later = peer
        .seen
        .iter()
        .filter(|e| e["event"] == "listening")
        .map(|e| &e["addr"]);
    ready
        .chain(later)
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// The TCP port the node listens on at `ip` (`ready` may come before all
/// listen addresses are up: then it waits for the `listening` event).
fn tcp_port(peer: &mut Peer, ip: &str) -> u16 {
    let prefix = format!("/ip4/{ip}/tcp/");
    let port =
        |addr: &str| -> Option<u16> { addr.strip_prefix(&prefix)?.split('/').next()?.parse().ok() };
    if let Some(found) = listen_addrs(peer).iter().find_map(|a| port(a)) {
        return found;
    }
    let event = peer.wait_for("listening on the private address", |e| {
        e["event"] == "listening" && e["addr"].as_str().and_then(port).is_some()
    });
    port(event["addr"].as_str().unwrap()).unwrap()
}

/// Sends `MESSAGES` texts to `to` (refs `TAG-N`); returns the texts.
fn send_texts(from: &mut Peer, to: &str, tag: &str) -> Vec<String> {
    (0..MESSAGES)
        .map(|n| {
            let text = format!("{tag} {n} through the NATs");
            from.command(
                json!({"cmd": "send", "to": to, "text": text, "ref": format!("{tag}-{n}")}),
            );
            text
        })
        .collect()
}

/// Waits until `to` received `texts` from `from_id`, in order.
fn receive_texts(to: &mut Peer, from_id: &str, texts: &[String]) {
    let mut got = Vec::new();
    while got.len() < texts.len() {
        let event = to.wait_for("message", |e| {
            e["event"] == "message" && e["from"] == from_id
        });
        got.push(event["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(got, texts, "{} received", to.name);
}

/// Waits until each message `TAG-N` is `delivered` (looking at the events
/// already seen too); none may fail. Returns how many went through the
/// relay's mailbox (`relayed`) rather than over a live connection.
fn await_delivered(from: &mut Peer, tag: &str) -> usize {
    let refs: Vec<String> = (0..MESSAGES).map(|n| format!("{tag}-{n}")).collect();
    let ours = |e: &Value| {
        e["event"] == "status"
            && e["ref"]
                .as_str()
                .is_some_and(|r| refs.iter().any(|x| x == r))
    };
    let mut delivered = std::collections::BTreeSet::new();
    let mut mailbox = 0;
    let mut look = |event: &Value| {
        assert_ne!(event["state"], "failed", "{event}");
        match event["state"].as_str().unwrap() {
            "delivered" => {
                delivered.insert(event["ref"].as_str().unwrap().to_owned());
            }
            "relayed" => mailbox += 1,
            _ => {}
        }
        delivered.len()
    };
    let mut count = 0;
    for event in from.seen.iter().filter(|e| ours(e)) {
        count = look(event);
    }
    while count < refs.len() {
        let event = from.wait_for("delivered", ours);
        count = look(&event);
    }
    mailbox
}

/// Every text in `texts` appears exactly once among `peer`'s `message`
/// events.
fn assert_once(peer: &Peer, texts: &[String]) {
    for text in texts {
        let count = peer
            .seen
            .iter()
            .filter(|e| e["event"] == "message" && e["text"] == text.as_str())
            .count();
        assert_eq!(count, 1, "{} received {text:?} {count} times", peer.name);
    }
}

/// The `contact_path` values `peer` reported for `contact`, from its
/// `seen` index `since` on.
fn paths(peer: &Peer, contact: &str, since: usize) -> Vec<String> {
    peer.seen[since..]
        .iter()
        .filter(|e| e["event"] == "contact_path" && e["contact"] == contact)
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

/// The hole punches `peer` reported for `contact` from `since` on.
fn punches(peer: &Peer, contact: &str, since: usize) -> Vec<String> {
    peer.seen[since..]
        .iter()
        .filter(|e| e["event"] == "hole_punch" && e["contact"] == contact)
        .map(|e| match e["detail"].as_str() {
            Some(detail) => format!("failed: {detail}"),
            None if e["succeeded"] == true => "succeeded".to_owned(),
            None => "failed".to_owned(),
        })
        .collect()
}

/// An event among `peer`'s `seen` from `since` on, else the next one.
fn seen_since_or_wait(
    peer: &mut Peer,
    since: usize,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    match peer.seen[since..].iter().find(|e| matches(e)) {
        Some(event) => event.clone(),
        None => peer.wait_for(what, matches),
    }
}

fn progress(started: Instant, nat: Nat, what: &str) {
    eprintln!(
        "NAT test ({}): {what} ({:.1} s)",
        nat.label(),
        started.elapsed().as_secs_f64()
    );
}

/// NATs that keep ports: DCUtR can punch through them.
#[test]
fn chat_through_the_relay_between_port_preserving_nats_and_report_hole_punching() {
    scenario(Nat::PortPreserving);
}

/// NATs that randomise ports: the chat must work through the relay alone.
#[test]
fn chat_through_the_relay_between_port_randomising_nats_and_report_hole_punching() {
    scenario(Nat::PortRandomising);
}

fn scenario(nat: Nat) {
    let started = Instant::now();
    let mut lab = match lab() {
        Ok(lab) => lab,
        Err(reason) => return skip(&reason),
    };
    let (site_a, site_b, relay_ns) = match lab.build(nat) {
        Ok(topology) => topology,
        Err(reason) => {
            drop(lab);
            return skip(&format!("building the network namespaces failed: {reason}"));
        }
    };
    progress(started, nat, &format!("namespaces {}* built", lab.prefix));

    let dir = tempfile::tempdir().unwrap();
    let ada_home = dir.path().join("ada");
    let bob_home = dir.path().join("bob");
    let ada_id = cli(&ada_home, &["init", "--name", "ada"]).trim().to_owned();
    let bob_id = cli(&bob_home, &["init", "--name", "bob"]).trim().to_owned();

    // The public host: a relay that advertises its public address, owned
    // by Ada, with Bob as a user.
    let relay_dir = dir.path().join("relay");
    let tcp = format!("/ip4/{RELAY_IP}/tcp/{RELAY_PORT}");
    let quic = format!("/ip4/{RELAY_IP}/udp/{RELAY_PORT}/quic-v1");
    relay_cli(
        &relay_dir,
        &[
            "init",
            "--owner",
            &ada_id,
            "--external",
            &tcp,
            "--external",
            &quic,
        ],
    );
    relay_cli(&relay_dir, &["users", "add", &bob_id]);
    let relay = Relay::start_in_netns(
        &lab.ip,
        &relay_ns,
        &relay_dir,
        &[
            &format!("/ip4/0.0.0.0/tcp/{RELAY_PORT}"),
            &format!("/ip4/0.0.0.0/udp/{RELAY_PORT}/quic-v1"),
        ],
    );
    assert!(relay.code.starts_with("wren-relay:"), "{}", relay.code);
    // Added before the nodes run, so that their pairing codes carry it.
    for home in [&ada_home, &bob_home] {
        let printed = cli(home, &["relays", "add", &relay.code]);
        assert_eq!(printed.trim(), relay.peer_id);
    }

    // The clients, each in its namespace behind its router.
    let run_args = [
        "--no-mdns",
        "--listen",
        "/ip4/0.0.0.0/tcp/0",
        "--listen",
        "/ip4/0.0.0.0/udp/0/quic-v1",
    ];
    let mut ada = Peer::start_in_netns("ada", &ada_home, &lab.ip, &site_a.client, &run_args);
    let mut bob = Peer::start_in_netns("bob", &bob_home, &lab.ip, &site_b.client, &run_args);

    // The topology is what it claims: the relay is reachable from both
    // clients; neither client's private address from the other client or
    // from the public host; unsolicited connections to a router's public
    // address do not get through.
    let ada_port = tcp_port(&mut ada, &site_a.client_ip);
    let bob_port = tcp_port(&mut bob, &site_b.client_ip);
    let probes = [
        (
            "ada -> relay",
            true,
            (&*site_a.client, RELAY_IP, RELAY_PORT),
        ),
        (
            "bob -> relay",
            true,
            (&*site_b.client, RELAY_IP, RELAY_PORT),
        ),
        (
            "ada -> bob private",
            false,
            (&*site_a.client, &*site_b.client_ip, bob_port),
        ),
        (
            "bob -> ada private",
            false,
            (&*site_b.client, &*site_a.client_ip, ada_port),
        ),
        (
            "relay -> ada private",
            false,
            (&*relay_ns, &*site_a.client_ip, ada_port),
        ),
        (
            "bob -> ada's router",
            false,
            (&*site_b.client, site_a.wan_ip, ada_port),
        ),
        (
            "relay -> bob's router",
            false,
            (&*relay_ns, site_b.wan_ip, bob_port),
        ),
    ];
    let reached = lab.tcp_probes(&probes.map(|(_, _, probe)| probe));
    for ((name, expected, _), reached) in probes.iter().zip(reached) {
        assert_eq!(
            reached, *expected,
            "topology check {name}: connects = {reached}"
        );
    }
    progress(started, nat, "topology checked");

    for peer in [&mut ada, &mut bob] {
        let relay_id = relay.peer_id.clone();
        let event = peer.wait_for("relay_reserved", |e| {
            e["event"] == "relay_reserved" && e["relay"] == relay_id.as_str()
        });
        let addrs = event["addrs"].as_array().unwrap();
        assert!(
            addrs
                .iter()
                .any(|a| a.as_str().unwrap().contains(&format!("/ip4/{RELAY_IP}/"))),
            "{}: {event}",
            peer.name
        );
    }
    progress(started, nat, "both clients hold a reservation on the relay");

    // Ada adds Bob's code (his own addresses are private: she reaches him
    // through the relay it names); Bob accepts.
    pair(&mut ada, &mut bob, "bob", "ada");
    progress(started, nat, "paired");

    let ada_texts = send_texts(&mut ada, "bob", "ada");
    let bob_texts = send_texts(&mut bob, "ada", "bob");
    receive_texts(&mut bob, &ada_id, &ada_texts);
    receive_texts(&mut ada, &bob_id, &bob_texts);
    let through_mailbox = await_delivered(&mut ada, "ada") + await_delivered(&mut bob, "bob");
    assert_once(&bob, &ada_texts);
    progress(
        started,
        nat,
        &format!(
            "{MESSAGES} messages each way delivered, {through_mailbox} of them through a mailbox"
        ),
    );
    progress(
        started,
        nat,
        &format!(
            "the pairing connection: Ada saw paths {:?} and hole punches {:?}",
            paths(&ada, &bob_id, 0),
            punches(&ada, &bob_id, 0)
        ),
    );

    // A node reports hole punches and paths for its contacts only, and
    // pairing opened the connection before Bob had accepted Ada: his side
    // of it went unreported. Bob restarts, so that the next connection
    // joins two contacts and both report on it.
    bob.stop();
    let online = |e: &Value| {
        (e["event"] == "contact_online" || e["event"] == "contact_offline")
            && e["contact"] == bob_id.as_str()
    };
    if ada
        .seen
        .iter()
        .rev()
        .find(|e| online(e))
        .is_some_and(|e| e["event"] == "contact_online")
    {
        ada.wait_for("contact_offline", |e| {
            e["event"] == "contact_offline" && e["contact"] == bob_id.as_str()
        });
    }
    let mut bob = Peer::start_in_netns("bob", &bob_home, &lab.ip, &site_b.client, &run_args);
    bob.wait_for("relay_reserved", |e| e["event"] == "relay_reserved");
    let since = ada.seen.len();
    progress(started, nat, "Bob restarted");

    // Ada writes: her node reaches Bob through the relay, and DCUtR tries
    // to upgrade that connection.
    let ada_again = vec!["after the reconnect, from ada".to_owned()];
    ada.command(json!({"cmd": "send", "to": "bob", "text": ada_again[0], "ref": "again"}));
    receive_texts(&mut bob, &ada_id, &ada_again);
    let punch = common::wait_either(&mut ada, &mut bob, (since, 0), PUNCH_WAIT, |e| {
        e["event"] == "hole_punch"
    });
    let report = match &punch {
        Some((_, event)) if event["succeeded"] == true => {
            // A direct connection: both sides now say so.
            for (peer, contact, since) in [(&mut ada, &bob_id, since), (&mut bob, &ada_id, 0)] {
                seen_since_or_wait(peer, since, "contact_path direct", |e| {
                    e["event"] == "contact_path"
                        && e["contact"] == contact.as_str()
                        && e["path"] == "direct"
                });
            }
            "connection upgraded by DCUtR (direct)".to_owned()
        }
        Some((on_ada, event)) => format!(
            "stayed relayed (hole punch failed: {}; reported by {})",
            event["detail"].as_str().unwrap_or("no detail"),
            if *on_ada { "ada" } else { "bob" }
        ),
        None => format!(
            "stayed relayed (no hole punch reported within {} s)",
            PUNCH_WAIT.as_secs()
        ),
    };

    // The chat works on whatever path they ended up with.
    let bob_again = vec!["after the reconnect, from bob".to_owned()];
    bob.command(json!({"cmd": "send", "to": "ada", "text": bob_again[0], "ref": "again"}));
    receive_texts(&mut ada, &bob_id, &bob_again);
    for (peer, since) in [(&mut ada, since), (&mut bob, 0)] {
        let event = seen_since_or_wait(peer, since, "delivered", |e| {
            e["event"] == "status"
                && e["ref"] == "again"
                && (e["state"] == "delivered" || e["state"] == "failed")
        });
        assert_eq!(event["state"], "delivered", "{}: {event}", peer.name);
    }
    assert_once(&ada, &[bob_texts, bob_again].concat());
    // Nothing from before the restart came to Bob again.
    let bob_got: Vec<&Value> = bob
        .seen
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| &e["text"])
        .collect();
    assert_eq!(bob_got, [ada_again[0].as_str()]);

    // Nothing but private (and loopback) addresses on the clients, besides
    // their circuit addresses through the relay.
    for peer in [&ada, &bob] {
        let addrs = listen_addrs(peer);
        assert!(
            addrs
                .iter()
                .all(|a| a.contains("/p2p-circuit") || !a.contains(PUBLIC_PREFIX)),
            "{} has a public address: {addrs:?}",
            peer.name
        );
    }

    progress(
        started,
        nat,
        &format!(
            "after the reconnect: Ada saw paths {:?} and hole punches {:?}; \
             Bob saw paths {:?} and hole punches {:?}",
            paths(&ada, &bob_id, since),
            punches(&ada, &bob_id, since),
            paths(&bob, &ada_id, 0),
            punches(&bob, &ada_id, 0)
        ),
    );
    shout(&format!(
        "NAT test ({}): {report} ({:.1} s)",
        nat.label(),
        started.elapsed().as_secs_f64()
    ));

    ada.stop();
    bob.stop();
    drop(relay);
    let errors = lab.teardown();
    assert!(errors.is_empty(), "teardown: {errors:?}");
    assert_eq!(lab.leftovers(), Vec::<String>::new());
}
