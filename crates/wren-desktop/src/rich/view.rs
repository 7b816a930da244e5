//! Parsed blocks as widgets. Only layout happens here: the text was
//! parsed, converted and highlighted when the message arrived.

use iced::font::{Style, Weight};
use iced::widget::text::Span as TextSpan;
use iced::widget::{column, container, rich_text, row, rule, span, text};
use iced::{Element, Font};

use super::searchable::searchable;
use super::{Block, Kind, Line, Span};
use crate::theme;

/// Renders `blocks`; a click on a link produces its target.
pub fn view(blocks: &[Block]) -> Element<'_, String> {
    column(blocks.iter().map(block)).spacing(6).into()
}

fn block(block: &Block) -> Element<'_, String> {
    match block {
        Block::Paragraph(line) => paragraph(line, None),
        Block::Heading(level, line) => paragraph(line, Some(heading_size(*level))),
        Block::Code { code, .. } => container(paragraph(code, None))
            .padding([6, 8])
            .style(theme::code_block)
            .into(),
        Block::Quote(blocks) => container(view(blocks))
            .padding([4, 10])
            .style(theme::quote)
            .into(),
        Block::List { start, items } => column(items.iter().enumerate().map(|(n, item)| {
            let marker = match start {
                Some(first) => format!("{}.", first.saturating_add(n as u64)),
                None => "•".to_owned(),
            };
            row![text(marker), view(item)].spacing(6).into()
        }))
        .spacing(2)
        .into(),
        Block::Rule => rule::horizontal(1).style(theme::message_rule).into(),
    }
}

fn heading_size(level: u8) -> f32 {
    match level {
        1 => 22.0,
        2 => 19.0,
        3 => 17.0,
        _ => 16.0,
    }
}

/// One paragraph, heading (with its size) or code block as rich text.
fn paragraph(line: &Line, heading: Option<f32>) -> Element<'_, String> {
    let spans: Vec<TextSpan<'_, String>> = line
        .spans
        .iter()
        .map(|piece| styled(piece, heading.is_some()))
        .collect();
    let mut rich = rich_text(spans).on_link_click(std::convert::identity);
    if let Some(size) = heading {
        rich = rich.size(size);
    }
    searchable(rich, &line.plain)
}

fn styled(piece: &Span, heading: bool) -> TextSpan<'_, String> {
    let font = Font {
        weight: if piece.strong || heading {
            Weight::Bold
        } else {
            Weight::Normal
        },
        style: if piece.emphasis {
            Style::Italic
        } else {
            Style::Normal
        },
        ..crate::FONT
    };
    let styled = span(piece.text.as_str())
        .font(font)
        .strikethrough(piece.strike);
    match &piece.kind {
        Kind::Text => styled,
        Kind::Code => styled
            .font(crate::MONO_FONT)
            .background(theme::INLINE_CODE)
            .padding([0, 2]),
        Kind::Mention => styled.color(theme::MENTION),
        Kind::Hashtag => styled.color(theme::HASHTAG),
        Kind::Link(target) => styled
            .color(theme::LINK)
            .underline(true)
            .link(target.clone()),
        Kind::LinkHost => styled.color(theme::MUTED),
        Kind::Syntax(color) => styled.font(crate::MONO_FONT).color_maybe(*color),
    }
}
