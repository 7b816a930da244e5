//! Every colour and widget style of the app, in one place.

use iced::widget::{button, container, rule, text};
use iced::{Background, Border, Color, Theme, border};

/// The app's theme.
pub fn theme() -> Theme {
    Theme::Light
}

/// Wren's accent colour.
pub const ACCENT: Color = Color::from_rgb(0.20, 0.45, 0.85);
/// Secondary text (times, previews, status marks).
pub const MUTED: Color = Color::from_rgb(0.45, 0.47, 0.50);
/// Errors and failed messages.
pub const DANGER: Color = Color::from_rgb(0.80, 0.20, 0.20);
/// Online indicator.
pub const ONLINE: Color = Color::from_rgb(0.20, 0.65, 0.30);
/// Relayed (reached only through a relay) indicator.
pub const RELAYED: Color = Color::from_rgb(0.90, 0.60, 0.10);
/// Read receipts.
pub const READ: Color = Color::from_rgb(0.15, 0.55, 0.95);

const SIDEBAR: Color = Color::from_rgb(0.95, 0.96, 0.97);
const SELECTED: Color = Color::from_rgb(0.86, 0.90, 0.97);
const MINE: Color = Color::from_rgb(0.84, 0.92, 1.0);
const THEIRS: Color = Color::from_rgb(0.94, 0.94, 0.94);

/// The sidebar's background.
pub fn sidebar(_theme: &Theme) -> container::Style {
    container::Style::default().background(SIDEBAR)
}

/// A panel (my code, add contact, requests) or card.
pub fn card(_theme: &Theme) -> container::Style {
    container::Style::default().background(Color::WHITE).border(
        border::rounded(8)
            .color(Color::from_rgb(0.85, 0.86, 0.88))
            .width(1),
    )
}

/// A message bubble, mine or the contact's.
pub fn bubble(mine: bool) -> impl Fn(&Theme) -> container::Style {
    move |_theme| {
        container::Style::default()
            .background(if mine { MINE } else { THEIRS })
            .border(border::rounded(12))
    }
}

/// A day separator's pill.
pub fn day_separator(_theme: &Theme) -> container::Style {
    container::Style::default()
        .background(Color::from_rgb(0.90, 0.91, 0.93))
        .border(border::rounded(10))
}

/// The round initials avatar.
pub fn avatar(_theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(Color::WHITE),
        background: Some(Background::Color(ACCENT)),
        border: border::rounded(20),
        ..container::Style::default()
    }
}

/// The unread badge.
pub fn badge(_theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(Color::WHITE),
        background: Some(Background::Color(ACCENT)),
        border: border::rounded(9),
        ..container::Style::default()
    }
}

/// A conversation entry in the sidebar.
pub fn conversation_entry(selected: bool) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |_theme, status| {
        let background = match (selected, status) {
            (true, _) => SELECTED,
            (false, button::Status::Hovered | button::Status::Pressed) => {
                Color::from_rgb(0.91, 0.92, 0.94)
            }
            _ => SIDEBAR,
        };
        button::Style {
            background: Some(Background::Color(background)),
            text_color: Color::BLACK,
            border: Border::default().rounded(6),
            ..button::Style::default()
        }
    }
}

/// Secondary text.
pub fn muted(_theme: &Theme) -> text::Style {
    text::Style { color: Some(MUTED) }
}

/// Error text.
pub fn danger(_theme: &Theme) -> text::Style {
    text::Style {
        color: Some(DANGER),
    }
}

/// A coloured text style.
pub fn colored(color: Color) -> impl Fn(&Theme) -> text::Style {
    move |_theme| text::Style { color: Some(color) }
}

/// `@mentions` in messages.
pub const MENTION: Color = Color::from_rgb(0.55, 0.25, 0.75);
/// `#hashtags` in messages.
pub const HASHTAG: Color = Color::from_rgb(0.10, 0.50, 0.50);
/// Links in messages.
pub const LINK: Color = ACCENT;
/// The background of inline code in messages.
pub const INLINE_CODE: Color = Color::from_rgba(0.0, 0.0, 0.0, 0.07);

/// A code block in a message.
pub fn code_block(_theme: &Theme) -> container::Style {
    container::Style::default()
        .background(Color::from_rgb(0.98, 0.98, 0.99))
        .border(
            border::rounded(6)
                .color(Color::from_rgb(0.82, 0.84, 0.87))
                .width(1),
        )
}

/// A quote in a message: a shaded box with muted text.
pub fn quote(_theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(Color::from_rgb(0.30, 0.32, 0.36)),
        background: Some(Background::Color(Color::from_rgba(0.0, 0.0, 0.0, 0.06))),
        border: border::rounded(6),
        ..container::Style::default()
    }
}

/// A horizontal rule in a message.
pub fn message_rule(_theme: &Theme) -> rule::Style {
    rule::Style {
        color: Color::from_rgb(0.75, 0.77, 0.80),
        radius: 0.0.into(),
        fill_mode: rule::FillMode::Full,
        snap: true,
    }
}
