//! The start-up probe behind the desktop benchmarks.
//!
//! With `WREN_PROBE=1` in its environment, `wren` reports on stdout when
//! its first frame showing the conversation list has been presented
//! (`first-frame rss_kb=N`), then opens the most recent conversation and
//! reports when a frame showing its first page has been presented
//! (`open-conversation us=N built_us=N rss_kb=N hwm_kb=N`: `built_us` is
//! when the view holding the page was built, before drawing), then closes. The benchmark
//! (`benches/startup.rs`) times the first line from the moment it started
//! the process.
//!
//! "Presented" is decided from iced's redraw events: each carries the
//! instant its redraw began, which is after the view it draws was built.
//! A redraw that began after a view showing the wanted content was built
//! has drawn that content. The subscription turns only such a redraw into
//! a message ([`presented`]): a message per frame would make every frame
//! request the next (iced redraws after each update), and the app would
//! spend the measurement redrawing.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use crate::screen::main::Main;

/// The environment variable that switches the probe on.
pub const ENV: &str = "WREN_PROBE";

/// When a view showing what the probe waits for was first built: set from
/// `view` (which has only `&self`), read by the subscription's filter
/// (which can hold no state). One probe per process.
static SHOWN: Mutex<Option<Instant>> = Mutex::new(None);

/// Whether a redraw that began at `at` presents what the probe waits for.
pub fn presented(at: Instant) -> bool {
    SHOWN
        .lock()
        .ok()
        .and_then(|shown| *shown)
        .is_some_and(|shown| at >= shown)
}

/// Where the probe stands.
#[derive(Debug)]
pub struct Probe {
    stage: Stage,
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
        std::env::var_os(ENV)
            .is_some_and(|v| v == "1")
            .then_some(Self { stage: Stage::List })
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
        if ready && let Ok(mut shown) = SHOWN.lock() {
            shown.get_or_insert_with(Instant::now);
        }
    }

    /// Called for each redraw that [`presented`] let through (the instant
    /// it began).
    pub fn frame(&mut self, at: Instant, main: Option<&Main>) -> Step {
        let Some(shown_at) = SHOWN.lock().ok().and_then(|mut shown| {
            let at_or_after = shown.is_some_and(|shown| at >= shown);
            if at_or_after { shown.take() } else { None }
        }) else {
            return Step::Wait;
        };
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
                    "open-conversation us={} built_us={} rss_kb={} hwm_kb={}",
                    since.elapsed().as_micros(),
                    shown_at.saturating_duration_since(since).as_micros(),
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
