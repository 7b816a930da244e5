//! Start-up benchmark of the desktop app, with a bare iced window measured
//! side by side in the same run.
//!
//! `cargo bench -p wren-desktop --bench startup` prepares a profile whose
//! history holds 100 000 messages (two real nodes exchange them), starts an
//! Xvfb display, then alternates, round by round:
//!
//! - **bare**: this binary again as a minimal iced app (same font, same
//!   window size, 20 sidebar rows, then 50 message rows), the floor of any
//!   iced app on this machine;
//! - **wren**: the real `wren` binary on the prepared profile, with its
//!   start-up probe (`WREN_PROBE=1`, see `src/probe.rs`).
//!
//! Measured for each: process start to the first presented frame showing
//! the conversation list (timed here, from spawn to the probe's line);
//! opening the most recent conversation to the first presented frame
//! showing its first page (timed by the probe); resident memory then (RSS
//! and its peak). Knobs: `WREN_BENCH_ROUNDS` (default 5),
//! `WREN_BENCH_MESSAGES` (default 100 000), `WREN_BENCH_DROP_CACHES=1`
//! (root only: empty the page cache before every start, for a cold disk).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use wren_core::{Node, NodeConfig, NodeEvent, Status, Unlock};

const ROLE: &str = "WREN_BENCH_ROLE";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;
const DEADLINE: Duration = Duration::from_secs(120);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var(ROLE).is_ok_and(|r| r == "bare") {
        bare::run();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds = knob("WREN_BENCH_ROUNDS", 5);
    let messages = knob("WREN_BENCH_MESSAGES", 100_000);
    let drop_caches = std::env::var("WREN_BENCH_DROP_CACHES").is_ok_and(|v| v == "1");

    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let prepared = Instant::now();
    let stored = runtime.block_on(prepare(homes[0].path(), homes[1].path(), messages));
    drop(runtime);
    println!(
        "prepared a profile with {stored} messages in its history in {:.1?}",
        prepared.elapsed()
    );

    let xvfb = Xvfb::start();
    let mut bare = Vec::new();
    let mut wren = Vec::new();
    for round in 0..rounds {
        if drop_caches {
            std::fs::write("/proc/sys/vm/drop_caches", "3").expect("drop caches (root only)");
        }
        let me = std::env::current_exe().unwrap();
        let mut command = Command::new(me);
        command.env(ROLE, "bare");
        bare.push(xvfb.measure(command));
        if drop_caches {
            std::fs::write("/proc/sys/vm/drop_caches", "3").expect("drop caches (root only)");
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_wren"));
        command
            .arg("--home")
            .arg(homes[0].path())
            .arg("--no-mdns")
            .env(wren_desktop::probe::ENV, "1");
        wren.push(xvfb.measure(command));
        println!(
            "round {}: bare {} | wren {}",
            round + 1,
            bare[round],
            wren[round]
        );
    }
    report("bare iced window", &bare);
    report(&format!("wren, {stored} messages"), &wren);
}

/// One start: time to the first frame, time to open a conversation,
/// resident memory then and its peak.
#[derive(Debug, Clone, Copy)]
struct Sample {
    first_frame: Duration,
    open: Duration,
    /// Until the view holding the page was built (the rest is drawing).
    built: Duration,
    rss_kb: u64,
    hwm_kb: u64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "first frame {:.1} ms, open {:.1} ms (view built at {:.1} ms), RSS {:.1} MiB (peak {:.1} MiB)",
            ms(self.first_frame),
            ms(self.open),
            ms(self.built),
            self.rss_kb as f64 / 1024.0,
            self.hwm_kb as f64 / 1024.0
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median<T: Copy + Ord>(mut values: Vec<T>) -> T {
    values.sort();
    values[values.len() / 2]
}

fn report(name: &str, samples: &[Sample]) {
    let first: Vec<Duration> = samples.iter().map(|s| s.first_frame).collect();
    let open: Vec<Duration> = samples.iter().map(|s| s.open).collect();
    let rss: Vec<u64> = samples.iter().map(|s| s.rss_kb).collect();
    let hwm: Vec<u64> = samples.iter().map(|s| s.hwm_kb).collect();
    println!(
        "{name}: first frame p50 {:.1} ms (min {:.1}, max {:.1}); open p50 {:.1} ms (max {:.1}); \
         RSS p50 {:.1} MiB, peak p50 {:.1} MiB",
        ms(median(first.clone())),
        ms(*first.iter().min().unwrap()),
        ms(*first.iter().max().unwrap()),
        ms(median(open.clone())),
        ms(*open.iter().max().unwrap()),
        median(rss) as f64 / 1024.0,
        median(hwm) as f64 / 1024.0,
    );
}

/// A private X display for the runs.
struct Xvfb {
    child: Child,
    display: String,
    runtime_dir: tempfile::TempDir,
}

impl Xvfb {
    fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0"])
            .arg(format!("{WIDTH}x{HEIGHT}x24"))
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt install xvfb)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Xvfb {
            child,
            display: format!(":{}", line.trim()),
            runtime_dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts `command` on the display and reads its probe lines.
    fn measure(&self, mut command: Command) -> Sample {
        let started = Instant::now();
        let mut child = command
            .env("DISPLAY", &self.display)
            .env("XDG_RUNTIME_DIR", self.runtime_dir.path())
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("WREN_BENCH_STDERR").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send((Instant::now(), line));
            }
        });
        let mut first_frame = None;
        let mut sample = None;
        while sample.is_none() {
            let Ok((at, line)) = rx.recv_timeout(DEADLINE) else {
                let _ = child.kill();
                panic!("no probe line within {DEADLINE:?}");
            };
            if line.starts_with("first-frame") {
                first_frame = Some(at - started);
            } else if line.starts_with("open-conversation") {
                let field = |key: &str| -> u64 {
                    line.split_whitespace()
                        .find_map(|f| f.strip_prefix(key))
                        .and_then(|v| v.parse().ok())
                        .unwrap()
                };
                sample = Some(Sample {
                    first_frame: first_frame.expect("first-frame comes first"),
                    open: Duration::from_micros(field("us=")),
                    built: Duration::from_micros(field("built_us=")),
                    rss_kb: field("rss_kb="),
                    hwm_kb: field("hwm_kb="),
                });
            }
        }
        // The app closes itself after its report; wait for that (a clean
        // stop of the node) rather than killing it.
        let stop = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if stop.elapsed() > DEADLINE {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        sample.unwrap()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open(home: &Path) -> (Node, mpsc::Receiver<NodeEvent>) {
    let mut config = NodeConfig::new(home);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (node, mut events) = Node::open(config).await.unwrap();
    // The pairing code carries the listen addresses: wait for them.
    wait(&mut events, |e| matches!(e, NodeEvent::Listening { .. })).await;
    (node, events)
}

async fn wait(events: &mut mpsc::Receiver<NodeEvent>, mut pick: impl FnMut(&NodeEvent) -> bool) {
    while let Some(event) = events.recv().await {
        if pick(&event) {
            return;
        }
    }
    panic!("events closed");
}

/// Ada's profile with `messages` texts in her history with Bob, half sent
/// by each, every one delivered (so her history holds all of them).
async fn prepare(ada_home: &Path, bob_home: &Path, messages: usize) -> usize {
    Node::init(ada_home, "Ada", Unlock::KeyFile).await.unwrap();
    Node::init(bob_home, "Bob", Unlock::KeyFile).await.unwrap();
    let (ada, mut ada_events) = open(ada_home).await;
    let (bob, mut bob_events) = open(bob_home).await;
    let code = bob.pairing_code().await.unwrap();
    let contact = ada.add_contact(&code, Some("bob".into())).await.unwrap();
    wait(&mut bob_events, |e| {
        matches!(e, NodeEvent::ContactRequest { .. })
    })
    .await;
    let ada_id = ada.identity().await.peer_id;
    bob.accept(&ada_id).await.unwrap();
    wait(&mut ada_events, |e| {
        matches!(e, NodeEvent::ContactAccepted { .. })
    })
    .await;

    let half = messages / 2;
    let send = |from: Node, to: String, count: usize| async move {
        let mut inflight = FuturesUnordered::new();
        for i in 0..count {
            if inflight.len() >= 512 {
                let done: Result<_, wren_core::NodeError> = inflight.next().await.unwrap();
                done.unwrap();
            }
            let text = format!("Message {i}: a line of about the length people type in a chat.");
            let from = from.clone();
            let to = to.clone();
            inflight.push(async move { from.send_text(&to, &text).await });
        }
        while let Some(result) = inflight.next().await {
            result.unwrap();
        }
    };
    let delivered = |mut events: mpsc::Receiver<NodeEvent>, count: usize| async move {
        let mut done = 0;
        wait(&mut events, |e| {
            if matches!(
                e,
                NodeEvent::StatusChanged {
                    status: Status::Delivered,
                    ..
                }
            ) {
                done += 1;
            }
            done == count
        })
        .await;
    };
    tokio::join!(
        send(ada.clone(), contact.peer_id.clone(), half),
        send(bob.clone(), ada_id.clone(), messages - half),
        delivered(ada_events, half),
        delivered(bob_events, messages - half),
    );
    // Read everything, as a user would have.
    ada.mark_read("bob").await.unwrap();
    ada.shutdown().await.unwrap();
    bob.shutdown().await.unwrap();
    messages
}

/// The side-by-side baseline: a minimal iced app with Wren's font and
/// window size that reports its frames the way `wren`'s probe does.
mod bare {
    use super::*;
    use iced::widget::{column, container, row, text};
    use iced::{Element, Length, Task};

    /// When the view the bare app waits to see presented was built (as in
    /// `wren`'s probe: only a redraw after it becomes a message).
    static SHOWN: Mutex<Option<Instant>> = Mutex::new(None);

    struct Bare {
        open: Option<Instant>,
        done: bool,
    }

    #[derive(Debug, Clone)]
    enum Message {
        Frame(Instant),
    }

    pub(super) fn run() {
        iced::application(
            || Bare {
                open: None,
                done: false,
            },
            update,
            view,
        )
        .subscription(|_: &Bare| {
            iced::event::listen_raw(|event, _status, _window| match event {
                iced::Event::Window(iced::window::Event::RedrawRequested(at))
                    if SHOWN.lock().unwrap().is_some_and(|shown| at >= shown) =>
                {
                    Some(Message::Frame(at))
                }
                _ => None,
            })
        })
        .font(wren_desktop::FONT_BYTES)
        .default_font(wren_desktop::FONT)
        .window_size((1000.0, 700.0))
        .run()
        .unwrap();
    }

    fn update(state: &mut Bare, message: Message) -> Task<Message> {
        let Message::Frame(at) = message;
        let shown = *SHOWN.lock().unwrap();
        if state.done || shown.is_none_or(|shown| at < shown) {
            return Task::none();
        }
        *SHOWN.lock().unwrap() = None;
        match state.open {
            None => {
                println!("first-frame rss_kb=0");
                state.open = Some(Instant::now());
                Task::none()
            }
            Some(since) => {
                let status = std::fs::read_to_string("/proc/self/status").unwrap();
                let field = |key: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(key))
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let built = shown.map_or(0, |shown| shown.duration_since(since).as_micros());
                println!(
                    "open-conversation us={} built_us={built} rss_kb={} hwm_kb={}",
                    since.elapsed().as_micros(),
                    field("VmRSS:"),
                    field("VmHWM:")
                );
                state.done = true;
                iced::exit()
            }
        }
    }

    fn view(state: &Bare) -> Element<'_, Message> {
        if !state.done {
            SHOWN.lock().unwrap().get_or_insert_with(Instant::now);
        }
        let sidebar = column((0..20).map(|i| text(format!("Contact {i}")).into()))
            .spacing(8)
            .width(300);
        let mut messages = column![].spacing(6);
        if state.open.is_some() {
            for i in 0..50 {
                messages = messages.push(container(text(format!(
                    "Message {i}: a line of about the length people type in a chat."
                ))));
            }
        }
        row![sidebar, container(messages).width(Length::Fill)].into()
    }
}
