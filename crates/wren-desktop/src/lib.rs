//! Wren's desktop app: an [iced] GUI over a [`wren_core::Node`].
//!
//! The GUI talks only to wren-core's public API. One [`Node`](wren_core::Node)
//! per app: its events come in through a [`Subscription`](iced::Subscription)
//! ([`events`]), and every call to it runs in a [`Task`](iced::Task), so
//! `update` and `view` never block.
//!
//! Layout (after halloy): [`app`] is the state machine (loading → first run
//! | unlock | main); each screen in [`screen`] and each component in
//! [`screen::main`] has its own `Message`, `update` and `view`, and reports
//! intents for its parent as an `Event`; [`theme`] holds every style.

pub mod app;
pub mod config;
pub mod events;
pub mod format;
pub mod notify;
pub mod preferences;
pub mod probe;
pub mod qr;
pub mod rich;
pub mod screen;
pub mod theme;

pub use app::{App, Message};
pub use config::Config;

/// The bundled font (DejaVu Sans; licence in `assets/fonts`). iced draws no
/// text without a font, and a machine may have no system fonts at all.
pub const FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The bundled font, made the default for every widget.
pub const FONT: iced::Font = iced::Font::with_name("DejaVu Sans");

/// Its bold face (for `**strong**` text and headings in messages).
pub const BOLD_FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The bundled monospace font (code in messages).
pub const MONO_FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansMono.ttf");

/// The monospace font by name: iced's generic monospace family may name a
/// font the machine does not have.
pub const MONO_FONT: iced::Font = iced::Font::with_name("DejaVu Sans Mono");

/// Runs the app until its window closes.
pub fn run(config: Config) -> iced::Result {
    iced::application(move || App::new(config.clone()), App::update, App::view)
        .title(App::title)
        .subscription(App::subscription)
        .theme(App::theme)
        .font(FONT_BYTES)
        .font(BOLD_FONT_BYTES)
        .font(MONO_FONT_BYTES)
        .default_font(FONT)
        .window_size((1000.0, 700.0))
        // Closing stops the node first (see `Message::CloseRequested`).
        .exit_on_close_request(false)
        .run()
}
