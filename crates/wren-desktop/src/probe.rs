//! The start-up probe behind the desktop benchmarks.
//!
//! With `WREN_PROBE=1` in its environment, `wren` reports on stdout when
//! its first frame showing the conversation list has been presented
//! (`first-frame rss_kb=N`), then opens the most recent conversation and
//! reports when a frame showing its first page has been presented
//! (`open-conversation us=N rss_kb=N hwm_kb=N`), then closes. The benchmark
//! (`benches/startup.rs`) times the first line from the moment it started
//! the process.
//!
//! "Presented" is decided from iced's frame events: each carries the
//! instant its redraw began, which is after the view it draws was built.
//! A frame that began after a view showing the wanted content was built
//! has drawn that content; the probe reports once it sees such a frame.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use crate::screen::main::Main;

/// The environment variable that switches the probe on.
pub const ENV: &str = "WREN_PROBE";

/// Where the probe stands.
#[derive(Debug)]
pub struct Probe {
    stage: Stage,
    /// When a view showing what the current stage waits for was first
    /// built (`view` has only `&self`, hence the lock).
    shown: Mutex<Option<Instant>>,
}

#[derive(Debug, Clone)]
enum Stage {
    /// Waiting for the conversation list on screen.
    List,
    /// The conversation was selected at `since`; waiting for its page.
    Open { since: Instant, contact: String },
    /// Reported; closing.
    Done,
}

/// What the app should do after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet.
    Wait,
    /// Open the conversation with this contact (peer id).
    Open(String),
    /// Everything was reported: close the app.
    Close,
}

impl Probe {
    /// The probe, if the environment asks for it.
    pub fn from_env() -> Option<Self> {
        (std::env::var_os(ENV).is_some_and(|v| v == "1")).then(|| Self {
            stage: Stage::List,
            shown: Mutex::new(None),
        })
    }

    /// Called from `view`: notes when the awaited content was first built.
    pub fn viewed(&self, main: Option<&Main>) {
        let Some(main) = main else { return };
        let ready = match &self.stage {
            Stage::List => !main.conversations().is_empty(),
            Stage::Open { contact, .. } => main
                .open_conversation()
                .is_some_and(|c| c.contact() == contact && c.messages().next().is_some()),
            Stage::Done => false,
        };
        if ready && let Ok(mut shown) = self.shown.lock() {
            shown.get_or_insert_with(Instant::now);
        }
    }

    /// Called for each frame (the instant its redraw began).
    pub fn frame(&mut self, at: Instant, main: Option<&Main>) -> Step {
        let drawn = self
            .shown
            .lock()
            .ok()
            .and_then(|shown| *shown)
            .is_some_and(|shown| at >= shown);
        if !drawn {
            return Step::Wait;
        }
        if let Ok(mut shown) = self.shown.lock() {
            *shown = None;
        }
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::List => {
                report(&format!("first-frame rss_kb={}", memory("VmRSS:")));
                let Some(contact) = main
                    .and_then(|m| m.conversations().first())
                    .map(|c| c.contact.clone())
                else {
                    return Step::Close;
                };
                self.stage = Stage::Open {
                    since: Instant::now(),
                    contact: contact.clone(),
                };
                Step::Open(contact)
            }
            Stage::Open { since, .. } => {
                report(&format!(
                    "open-conversation us={} rss_kb={} hwm_kb={}",
                    since.elapsed().as_micros(),
                    memory("VmRSS:"),
                    memory("VmHWM:")
                ));
                Step::Close
            }
            Stage::Done => Step::Wait,
        }
    }

    /// Whether the probe still waits for frames.
    pub fn active(&self) -> bool {
        !matches!(self.stage, Stage::Done)
    }
}

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A memory figure of this process in kB (`VmRSS:`, `VmHWM:`), 0 where
/// `/proc` does not have it.
fn memory(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}
