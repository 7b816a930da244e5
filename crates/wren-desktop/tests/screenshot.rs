//! The real `wren` binary under Xvfb: on a prepared home with two
//! conversations, the window must show them (not a blank window).
//!
//! Needs `Xvfb`, `xwininfo` and ImageMagick's `import` (CI installs them);
//! without `Xvfb` the test says so and passes. Set `WREN_SCREENSHOT` to a
//! file name to keep the last screenshot (PNG).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wren_core::{Node, NodeConfig, NodeEvent, Unlock};

/// The virtual screen.
const WIDTH: usize = 1280;
const HEIGHT: usize = 800;
/// How long the app may take to show the conversations (software rendering).
const DEADLINE: Duration = Duration::from_secs(90);
/// The sidebar's width and the avatars' colour (see src/theme.rs).
const SIDEBAR: usize = 300;
const ACCENT: [u8; 3] = [51, 115, 217];
/// Pixels of one 40×40 round avatar, with margin for antialiased edges.
const AVATAR_PIXELS: usize = 900;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("-help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

async fn open(home: &Path) -> (Node, tokio::sync::mpsc::Receiver<NodeEvent>) {
    let mut config = NodeConfig::new(home);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.mdns = false;
    let (node, mut events) = Node::open(config).await.unwrap();
    while !matches!(events.recv().await, Some(NodeEvent::Listening { .. })) {}
    (node, events)
}

/// Ada's home, with a conversation with Bob and one with Carol.
async fn prepare(ada_home: &Path, others: &[(&Path, &str, &str)]) {
    Node::init(ada_home, "Ada", Unlock::KeyFile).await.unwrap();
    let (ada, mut ada_events) = open(ada_home).await;
    for (home, name, text) in others {
        Node::init(home, name, Unlock::KeyFile).await.unwrap();
        let (other, mut events) = open(home).await;
        let code = other.pairing_code().await.unwrap();
        let contact = ada.add_contact(&code, None).await.unwrap();
        loop {
            if let Some(NodeEvent::ContactRequest { from, .. }) = events.recv().await {
                other.accept(&from).await.unwrap();
                break;
            }
        }
        ada.send_text(&contact.peer_id, &format!("Hello {name}"))
            .await
            .unwrap();
        let me = ada.identity().await.peer_id;
        other.send_text(&me, text).await.unwrap();
        loop {
            if let Some(NodeEvent::MessageReceived { from, .. }) = ada_events.recv().await
                && from == contact.peer_id
            {
                break;
            }
        }
        other.shutdown().await.unwrap();
    }
    ada.shutdown().await.unwrap();
}

/// The root window's pixels, RGB.
fn screenshot(display: &str) -> Vec<u8> {
    let output = Command::new("import")
        .args([
            "-display", display, "-window", "root", "-depth", "8", "rgb:-",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "import failed");
    output.stdout
}

/// Avatar-coloured pixels in the sidebar.
fn avatar_pixels(rgb: &[u8]) -> usize {
    (0..HEIGHT)
        .flat_map(|y| (0..SIDEBAR).map(move |x| (y * WIDTH + x) * 3))
        .filter(|&i| rgb.get(i..i + 3) == Some(&ACCENT[..]))
        .count()
}

fn variance(rgb: &[u8]) -> f64 {
    let n = rgb.len() as f64;
    let mean = rgb.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    rgb.iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_shows_two_conversations() {
    if !available("Xvfb") {
        eprintln!("skipped: Xvfb is not installed");
        return;
    }
    let homes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    prepare(
        homes[0].path(),
        &[
            (homes[1].path(), "Bob", "See you at eight"),
            (homes[2].path(), "Carol", "The tickets are booked"),
        ],
    )
    .await;

    // Xvfb picks a free display and tells us which.
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0"])
        .arg(format!("{WIDTH}x{HEIGHT}x24"))
        .args(["-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(xvfb.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _xvfb = Killed(xvfb);
    let display = format!(":{}", line.trim());

    let runtime = tempfile::tempdir().unwrap();
    let _wren = Killed(
        Command::new(env!("CARGO_BIN_EXE_wren"))
            .arg("--home")
            .arg(homes[0].path())
            .arg("--no-mdns")
            .env("DISPLAY", &display)
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // An external process: poll the screen until both avatars are drawn.
    let start = Instant::now();
    let shot = loop {
        let shot = screenshot(&display);
        if avatar_pixels(&shot) >= 2 * AVATAR_PIXELS {
            break shot;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the window did not show two conversations (variance {:.1}, avatar pixels {})",
            variance(&shot),
            avatar_pixels(&shot)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if let Ok(path) = std::env::var("WREN_SCREENSHOT") {
        let _ = Command::new("import")
            .args(["-display", &display, "-window", "root", &path])
            .status();
    }
    assert!(variance(&shot) > 100.0, "the window is blank");
    let title = Command::new("xwininfo")
        .args(["-display", &display, "-root", "-tree"])
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&title.stdout);
    assert!(tree.contains("Wren"), "no Wren window: {tree}");
}
