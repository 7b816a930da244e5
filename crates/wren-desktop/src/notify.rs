//! Desktop notifications for messages that arrive while the window is not
//! focused.
//!
//! The app asks a [`Notifier`] to show a [`Notification`] from a task (off
//! `update`). [`DesktopNotifier`] shows it through the desktop's
//! notification service (notify-rust over D-Bus, pure Rust); tests plug in
//! a notifier that records the requests instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use iced::Task;

/// Most characters of a message shown in its notification.
pub const PREVIEW_CHARS: usize = 80;

/// What a notification shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender's name.
    pub title: String,
    /// A short preview of the message.
    pub body: String,
}

impl std::fmt::Debug for Notification {
    /// The preview is message text: it never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("title", &self.title)
            .field(
                "body",
                &format_args!("[{} chars]", self.body.chars().count()),
            )
            .finish()
    }
}

impl Notification {
    /// A notification for a message from `sender`: its first
    /// [`PREVIEW_CHARS`] characters on one line.
    pub fn message(sender: &str, text: &str) -> Self {
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut body: String = flat.chars().take(PREVIEW_CHARS).collect();
        if flat.chars().count() > PREVIEW_CHARS {
            body.push('…');
        }
        Self {
            title: sender.to_owned(),
            body,
        }
    }
}

/// Something that shows notifications.
pub trait Notifier: std::fmt::Debug + Send + Sync + 'static {
    /// Shows `notification`. May block (it runs on a blocking thread);
    /// errors are reported as text.
    fn show(&self, notification: &Notification) -> Result<(), String>;
}

/// The desktop's notification service (freedesktop notifications over
/// D-Bus on Linux). Without a service (no session bus) it logs once and
/// carries on.
#[derive(Debug, Default)]
pub struct DesktopNotifier {
    warned: AtomicBool,
}

impl Notifier for DesktopNotifier {
    fn show(&self, notification: &Notification) -> Result<(), String> {
        let shown = notify_rust::Notification::new()
            .appname("Wren")
            .summary(&notification.title)
            .body(&notification.body)
            .show()
            .map(drop)
            .map_err(|error| error.to_string());
        if let Err(error) = &shown {
            if self.warned.swap(true, Ordering::Relaxed) {
                tracing::debug!(%error, "no desktop notification");
            } else {
                tracing::warn!(%error, "desktop notifications are unavailable");
            }
        }
        shown
    }
}

/// Shows `notification` on a blocking thread; the task's output says
/// whether it was shown.
pub fn show<T: Send + 'static>(
    notifier: &Arc<dyn Notifier>,
    notification: Notification,
    done: impl Fn(bool) -> T + Send + 'static,
) -> Task<T> {
    let notifier = Arc::clone(notifier);
    Task::perform(
        async move {
            tokio::task::spawn_blocking(move || notifier.show(&notification).is_ok())
                .await
                .unwrap_or(false)
        },
        done,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_short_and_on_one_line() {
        let n = Notification::message("Bob", "hello\n  there");
        assert_eq!(n.body, "hello there");
        let long = "a".repeat(PREVIEW_CHARS + 10);
        let n = Notification::message("Bob", &long);
        assert_eq!(n.body.chars().count(), PREVIEW_CHARS + 1);
        assert!(n.body.ends_with('…'));
    }

    #[test]
    fn debug_hides_the_text() {
        let n = Notification::message("Bob", "secret plans");
        let shown = format!("{n:?}");
        assert!(shown.contains("Bob"));
        assert!(!shown.contains("secret"));
    }
}
