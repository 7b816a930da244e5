//! Every colour and widget style of the app, in one place.

use iced::widget::{button, container, rule, text};
use iced::{Background, Border, Color, Theme, border};

use crate::preferences::ThemeChoice;

/// The app's theme for the user's choice: `None` lets iced follow the
/// system's light/dark preference (and its changes).
pub fn theme(choice: ThemeChoice) -> Option<Theme> {
    match choice {
        ThemeChoice::System => None,
        ThemeChoice::Light => Some(Theme::Light),
        ThemeChoice::Dark => Some(Theme::Dark),
    }
}

/// The surfaces that differ between the light and the dark theme.
struct Palette {
    sidebar: Color,
    selected: Color,
    hovered: Color,
    mine: Color,
    theirs: Color,
    card: Color,
    card_border: Color,
    day: Color,
    text: Color,
}

const LIGHT: Palette = Palette {
    sidebar: Color::from_rgb(0.95, 0.96, 0.97),
    selected: Color::from_rgb(0.86, 0.90, 0.97),
    hovered: Color::from_rgb(0.91, 0.92, 0.94),
    mine: Color::from_rgb(0.84, 0.92, 1.0),
    theirs: Color::from_rgb(0.94, 0.94, 0.94),
    card: Color::WHITE,
    card_border: Color::from_rgb(0.85, 0.86, 0.88),
    day: Color::from_rgb(0.90, 0.91, 0.93),
    text: Color::BLACK,
};

const DARK: Palette = Palette {
    sidebar: Color::from_rgb(0.13, 0.14, 0.16),
    selected: Color::from_rgb(0.18, 0.25, 0.38),
    hovered: Color::from_rgb(0.19, 0.20, 0.23),
    mine: Color::from_rgb(0.16, 0.30, 0.50),
    theirs: Color::from_rgb(0.22, 0.23, 0.26),
    card: Color::from_rgb(0.17, 0.18, 0.20),
    card_border: Color::from_rgb(0.28, 0.29, 0.32),
    day: Color::from_rgb(0.22, 0.23, 0.26),
    text: Color::from_rgb(0.92, 0.93, 0.94),
};

fn palette(theme: &Theme) -> &'static Palette {
    if theme.extended_palette().is_dark {
        &DARK
    } else {
        &LIGHT
    }
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

/// The sidebar's background.
pub fn sidebar(theme: &Theme) -> container::Style {
    container::Style::default().background(palette(theme).sidebar)
}

/// A panel (my code, add contact, requests) or card.
pub fn card(theme: &Theme) -> container::Style {
    let palette = palette(theme);
    container::Style::default()
        .background(palette.card)
        .border(border::rounded(8).color(palette.card_border).width(1))
}

/// A message bubble, mine or the contact's.
pub fn bubble(mine: bool) -> impl Fn(&Theme) -> container::Style {
    move |theme| {
        let palette = palette(theme);
        container::Style::default()
            .background(if mine { palette.mine } else { palette.theirs })
            .border(border::rounded(12))
    }
}

/// A day separator's pill.
pub fn day_separator(theme: &Theme) -> container::Style {
    container::Style::default()
        .background(palette(theme).day)
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
    move |theme, status| {
        let palette = palette(theme);
        let background = match (selected, status) {
            (true, _) => palette.selected,
            (false, button::Status::Hovered | button::Status::Pressed) => palette.hovered,
            _ => palette.sidebar,
        };
        button::Style {
            background: Some(Background::Color(background)),
            text_color: palette.text,
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

/// A code block in a message: a light panel in both themes, since its
/// highlighting colours are made for a light background.
pub fn code_block(_theme: &Theme) -> container::Style {
    container::Style::default()
        .color(Color::from_rgb(0.13, 0.14, 0.16))
        .background(Color::from_rgb(0.98, 0.98, 0.99))
        .border(
            border::rounded(6)
                .color(Color::from_rgb(0.82, 0.84, 0.87))
                .width(1),
        )
}

/// A quote in a message: a shaded box with muted text.
pub fn quote(theme: &Theme) -> container::Style {
    let text = if theme.extended_palette().is_dark {
        Color::from_rgb(0.75, 0.77, 0.80)
    } else {
        Color::from_rgb(0.30, 0.32, 0.36)
    };
    container::Style {
        text_color: Some(text),
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

/// A relay's state mark.
pub fn relay_state(state: wren_core::RelayState) -> impl Fn(&Theme) -> text::Style {
    let color = match state {
        wren_core::RelayState::Reserved => ONLINE,
        wren_core::RelayState::BackingOff => DANGER,
        _ => RELAYED,
    };
    colored(color)
}

/// The colours sender names take in group conversations (readable on both
/// themes' backgrounds).
const SENDER_COLORS: [Color; 8] = [
    Color::from_rgb(0.80, 0.30, 0.25),
    Color::from_rgb(0.20, 0.55, 0.30),
    Color::from_rgb(0.25, 0.45, 0.85),
    Color::from_rgb(0.70, 0.40, 0.05),
    Color::from_rgb(0.60, 0.30, 0.75),
    Color::from_rgb(0.10, 0.55, 0.60),
    Color::from_rgb(0.80, 0.25, 0.55),
    Color::from_rgb(0.40, 0.45, 0.20),
];

/// A sender's colour in group conversations: the same peer id always gets
/// the same colour (FNV-1a of its text).
pub fn sender_color(peer_id: &str) -> Color {
    let hash = peer_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let index = usize::try_from(hash % SENDER_COLORS.len() as u64).unwrap_or(0);
    SENDER_COLORS.get(index).copied().unwrap_or(ACCENT)
}

/// A sender's name above a group bubble.
pub fn sender(peer_id: &str) -> impl Fn(&Theme) -> text::Style {
    colored(sender_color(peer_id))
}

/// A group's avatar: a rounded square, to tell groups from people.
pub fn group_avatar(_theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(Color::WHITE),
        background: Some(Background::Color(Color::from_rgb(0.15, 0.55, 0.50))),
        border: border::rounded(10),
        ..container::Style::default()
    }
}

/// A small label beside a name (`channel`, `left`, `admin`, `you`).
pub fn tag(theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(MUTED),
        background: Some(Background::Color(palette(theme).day)),
        border: border::rounded(6),
        ..container::Style::default()
    }
}

/// A line in place of the composer (a channel's reader, a former member).
pub fn notice(theme: &Theme) -> container::Style {
    container::Style {
        text_color: Some(MUTED),
        background: Some(Background::Color(palette(theme).day)),
        border: border::rounded(8),
        ..container::Style::default()
    }
}
