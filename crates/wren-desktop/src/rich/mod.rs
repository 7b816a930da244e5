//! Message text as a bubble shows it: Markdown (emphasis, links, lists,
//! quotes, headings), fenced code blocks with syntax highlighting,
//! `:shortcode:` emoji, and highlighted `@mentions` and `#hashtags`.
//!
//! A message is parsed once, when it enters the conversation's state
//! ([`Rich::parse`]); the bubble only renders the result ([`view`]). Text
//! without markup stays [`Rich::Plain`] and is drawn exactly as before.
//!
//! Message text comes from the network, so the work is bounded
//! ([`limits`]): a text that is too long, nests too deep or produces too
//! many pieces is shown as plain text, and only small code blocks are
//! highlighted. Links are never followed by themselves: a click asks the
//! conversation to open one, and only http(s) and mailto links
//! ([`openable`]) are opened. A link whose text is not its target is
//! followed by the target's host (or mail address), so `[my bank](…)`
//! cannot hide where it leads. Images are never fetched; their description
//! is shown as a link instead.

mod inline;
mod searchable;
mod view;

use iced::Color;
use iced::advanced::text::Highlighter as _;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

pub use inline::openable;
pub use view::view;

/// The bounds on the work one message may cause.
pub mod limits {
    /// Longer texts are shown as plain text, unparsed.
    pub const MAX_BYTES: usize = 16 * 1024;
    /// Quotes and lists nested deeper than this: plain text.
    pub const MAX_DEPTH: usize = 8;
    /// Parser events per message; more: plain text.
    pub const MAX_EVENTS: usize = 4096;
    /// Styled pieces per message; more: plain text.
    pub const MAX_SPANS: usize = 4096;
    /// Code blocks larger than this are shown without highlighting.
    pub const MAX_HIGHLIGHT_BYTES: usize = 4096;
    /// Highlighted code per message, all blocks together.
    pub const MAX_HIGHLIGHT_TOTAL: usize = 8192;
    /// The longest `:shortcode:` looked up (characters between the colons).
    pub const MAX_SHORTCODE: usize = 48;
    /// Longer link targets are not links.
    pub const MAX_URL_BYTES: usize = 2048;
}

/// A message's text, ready for the bubble.
#[derive(Debug, Clone, PartialEq)]
pub enum Rich {
    /// No markup (or too much): the text is shown as it is.
    Plain,
    /// Parsed blocks.
    Blocks(Vec<Block>),
}

/// A block of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph.
    Paragraph(Line),
    /// A heading, level 1 to 6.
    Heading(u8, Line),
    /// A code block, highlighted when its language is known and it is small.
    Code {
        /// The language named after the opening fence, if any.
        language: Option<String>,
        /// The code, its lines separated by `\n` pieces.
        code: Line,
    },
    /// A quote.
    Quote(Vec<Block>),
    /// A list, numbered from `start` if ordered.
    List {
        /// The first number of an ordered list.
        start: Option<u64>,
        /// The items, each a sequence of blocks.
        items: Vec<Vec<Block>>,
    },
    /// A horizontal rule.
    Rule,
}

/// A run of styled text (a paragraph, a heading or a code block).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    /// The styled pieces.
    pub spans: Vec<Span>,
    /// The pieces' text joined, as found by searches (and tests).
    pub plain: String,
}

/// A piece of text with one style.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The text.
    pub text: String,
    /// What the piece is.
    pub kind: Kind,
    /// Bold.
    pub strong: bool,
    /// Italic.
    pub emphasis: bool,
    /// Struck through.
    pub strike: bool,
}

/// What a piece of text is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Ordinary text.
    Text,
    /// Inline code.
    Code,
    /// `@name`.
    Mention,
    /// `#tag`.
    Hashtag,
    /// A link that may be opened (see [`openable`]).
    Link(String),
    /// Where a link leads, after a link whose text does not say it.
    LinkHost,
    /// Highlighted code, in this colour (or the text colour).
    Syntax(Option<Color>),
}

impl Rich {
    /// Parses a message's text within the [`limits`].
    pub fn parse(text: &str) -> Self {
        Self::parse_within(text, limits::MAX_BYTES)
    }

    fn parse_within(text: &str, max_bytes: usize) -> Self {
        if text.len() > max_bytes {
            return Rich::Plain;
        }
        let mut builder = Builder::default();
        let parser = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH);
        for (count, event) in pulldown_cmark::utils::TextMergeStream::new(parser).enumerate() {
            if count >= limits::MAX_EVENTS || builder.event(event).is_none() {
                return Rich::Plain;
            }
        }
        match builder.finish() {
            Some(blocks) if !is_plain(&blocks, text) => Rich::Blocks(blocks),
            _ => Rich::Plain,
        }
    }
}

/// Whether `blocks` are one paragraph of unstyled text equal to `text`:
/// then the bubble shows the text as before.
fn is_plain(blocks: &[Block], text: &str) -> bool {
    match blocks {
        [] => true,
        [Block::Paragraph(line)] => {
            line.plain == text
                && line
                    .spans
                    .iter()
                    .all(|s| s.kind == Kind::Text && !s.strong && !s.emphasis && !s.strike)
        }
        _ => false,
    }
}

/// A container being filled.
#[derive(Debug)]
enum Frame {
    Root(Vec<Block>),
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Item(Vec<Block>),
}

/// Turns parser events into blocks. Every method returns `None` when a
/// limit is hit (the caller then falls back to plain text).
#[derive(Debug)]
struct Builder {
    frames: Vec<Frame>,
    /// The open paragraph or heading (level 0 for a paragraph).
    inline: Option<(u8, Line)>,
    /// The open code block: its language and text.
    code: Option<(Option<String>, String)>,
    strong: u32,
    emphasis: u32,
    strike: u32,
    /// Inside a link or image: its target if it may be opened.
    link: Option<Option<String>>,
    /// Where the open link's text starts in the paragraph's plain text.
    link_text_from: usize,
    spans: usize,
    highlighted: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            frames: vec![Frame::Root(Vec::new())],
            inline: None,
            code: None,
            strong: 0,
            emphasis: 0,
            strike: 0,
            link: None,
            link_text_from: 0,
            spans: 0,
            highlighted: 0,
        }
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>) -> Option<()> {
        match event {
            Event::Start(tag) => self.start(tag)?,
            Event::End(tag) => self.end(tag)?,
            Event::Text(text) => match &mut self.code {
                Some((_, code)) => code.push_str(&text),
                None => self.text(&text)?,
            },
            Event::Code(code) => self.push(code.into_string(), Kind::Code)?,
            // HTML is shown as typed, never interpreted.
            Event::Html(html) | Event::InlineHtml(html) => {
                self.push(html.into_string(), Kind::Text)?;
            }
            Event::SoftBreak | Event::HardBreak => self.push("\n".into(), Kind::Text)?,
            Event::Rule => {
                self.close_inline()?;
                self.block(Block::Rule);
            }
            // Not enabled: maths, footnotes, task lists.
            Event::InlineMath(text) | Event::DisplayMath(text) | Event::FootnoteReference(text) => {
                self.push(text.into_string(), Kind::Text)?
            }
            Event::TaskListMarker(done) => {
                self.push(if done { "☑ " } else { "☐ " }.into(), Kind::Text)?;
            }
        }
        Some(())
    }

    fn start(&mut self, tag: Tag<'_>) -> Option<()> {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => {
                self.close_inline()?;
                self.inline = Some((0, Line::default()));
            }
            Tag::Heading { level, .. } => {
                self.close_inline()?;
                self.inline = Some((heading_level(level), Line::default()));
            }
            Tag::CodeBlock(kind) => {
                self.close_inline()?;
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .filter(|l| l.len() <= 32)
                        .map(str::to_owned),
                    CodeBlockKind::Indented => None,
                };
                self.code = Some((language, String::new()));
            }
            Tag::BlockQuote(_) => self.open(Frame::Quote(Vec::new()))?,
            Tag::List(start) => self.open(Frame::List {
                start,
                items: Vec::new(),
            })?,
            Tag::Item => self.open(Frame::Item(Vec::new()))?,
            Tag::Emphasis => self.emphasis += 1,
            Tag::Strong => self.strong += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                let target = openable(&dest_url).then(|| dest_url.into_string());
                self.link = Some(target);
                self.link_text_from = self.inline.as_ref().map_or(0, |(_, l)| l.plain.len());
            }
            // Not enabled (tables, footnotes, definition lists, metadata):
            // their text still arrives as text.
            _ => {}
        }
        Some(())
    }

    fn end(&mut self, tag: TagEnd) -> Option<()> {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::HtmlBlock => self.close_inline()?,
            TagEnd::CodeBlock => {
                let (language, code) = self.code.take()?;
                let code = code.strip_suffix('\n').unwrap_or(&code).to_owned();
                let line = self.code_line(language.as_deref(), &code)?;
                self.block(Block::Code {
                    language,
                    code: line,
                });
            }
            TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item => {
                self.close_inline()?;
                let frame = self.frames.pop()?;
                match frame {
                    Frame::Quote(blocks) => self.block(Block::Quote(blocks)),
                    Frame::List { start, items } => self.block(Block::List { start, items }),
                    Frame::Item(blocks) => match self.frames.last_mut()? {
                        Frame::List { items, .. } => items.push(blocks),
                        _ => return None,
                    },
                    Frame::Root(_) => return None,
                }
            }
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link | TagEnd::Image => {
                if let Some(Some(target)) = self.link.take() {
                    let text = self
                        .inline
                        .as_ref()
                        .and_then(|(_, l)| l.plain.get(self.link_text_from..))
                        .unwrap_or_default();
                    if !inline::says_target(text, &target) {
                        self.push(format!(" ({})", inline::host(&target)), Kind::LinkHost)?;
                    }
                }
            }
            _ => {}
        }
        Some(())
    }

    fn open(&mut self, frame: Frame) -> Option<()> {
        self.close_inline()?;
        if self.frames.len() > limits::MAX_DEPTH {
            return None;
        }
        self.frames.push(frame);
        Some(())
    }

    /// Adds a finished block to the innermost container.
    fn block(&mut self, block: Block) {
        match self.frames.last_mut() {
            Some(Frame::Root(blocks) | Frame::Quote(blocks) | Frame::Item(blocks)) => {
                blocks.push(block);
            }
            Some(Frame::List { items, .. }) => items.push(vec![block]),
            None => {}
        }
    }

    fn close_inline(&mut self) -> Option<()> {
        if let Some((level, mut line)) = self.inline.take() {
            // An HTML block's text ends with its line break.
            if let Some(last) = line.spans.last_mut()
                && last.kind == Kind::Text
                && last.text.ends_with('\n')
            {
                last.text.pop();
                line.plain.pop();
                if last.text.is_empty() {
                    line.spans.pop();
                }
            }
            if line.spans.is_empty() {
                return Some(());
            }
            self.block(if level == 0 {
                Block::Paragraph(line)
            } else {
                Block::Heading(level, line)
            });
        }
        Some(())
    }

    /// Text outside code: links, mentions, hashtags and shortcodes.
    fn text(&mut self, text: &str) -> Option<()> {
        let link = self.link.clone();
        let people = link.is_none();
        for token in inline::tokens(text, people) {
            let (piece, kind) = match token {
                inline::Token::Text(t) | inline::Token::Emoji(t) => (t, Kind::Text),
                inline::Token::Url(url) => (url, Kind::Link(url.to_owned())),
                inline::Token::Mention(name) => (name, Kind::Mention),
                inline::Token::Hashtag(tag) => (tag, Kind::Hashtag),
            };
            let kind = match (&link, kind) {
                (Some(Some(target)), _) => Kind::Link(target.clone()),
                (_, kind) => kind,
            };
            self.push(piece.to_owned(), kind)?;
        }
        Some(())
    }

    /// Appends a piece to the open paragraph (opening one for text that
    /// comes without, as in tight list items).
    fn push(&mut self, text: String, kind: Kind) -> Option<()> {
        if text.is_empty() {
            return Some(());
        }
        if self.inline.is_none() {
            self.inline = Some((0, Line::default()));
        }
        let (strong, emphasis, strike) = (self.strong > 0, self.emphasis > 0, self.strike > 0);
        let (_, line) = self.inline.as_mut()?;
        line.plain.push_str(&text);
        if let Some(last) = line.spans.last_mut()
            && last.kind == kind
            && matches!(kind, Kind::Text | Kind::Code | Kind::Link(_))
            && (last.strong, last.emphasis, last.strike) == (strong, emphasis, strike)
        {
            last.text.push_str(&text);
            return Some(());
        }
        self.spans += 1;
        if self.spans > limits::MAX_SPANS {
            return None;
        }
        line.spans.push(Span {
            text,
            kind,
            strong,
            emphasis,
            strike,
        });
        Some(())
    }

    /// A code block's text, highlighted if its language is known and the
    /// highlighting budget allows.
    fn code_line(&mut self, language: Option<&str>, code: &str) -> Option<Line> {
        let plain = |text: &str| Span {
            text: text.to_owned(),
            kind: Kind::Syntax(None),
            strong: false,
            emphasis: false,
            strike: false,
        };
        let mut line = Line {
            spans: Vec::new(),
            plain: code.to_owned(),
        };
        let budget = limits::MAX_HIGHLIGHT_TOTAL.saturating_sub(self.highlighted);
        match language {
            Some(language) if code.len() <= limits::MAX_HIGHLIGHT_BYTES.min(budget) => {
                self.highlighted += code.len();
                let mut highlighter =
                    iced::highlighter::Highlighter::new(&iced::highlighter::Settings {
                        theme: iced::highlighter::Theme::InspiredGitHub,
                        token: language.to_owned(),
                    });
                for (n, text) in code.split('\n').enumerate() {
                    if n > 0 {
                        line.spans.push(plain("\n"));
                    }
                    for (range, highlight) in highlighter.highlight_line(text) {
                        let piece = text.get(range).unwrap_or_default();
                        line.spans.push(Span {
                            kind: Kind::Syntax(highlight.color()),
                            ..plain(piece)
                        });
                    }
                }
            }
            _ => line.spans.push(plain(code)),
        }
        self.spans += line.spans.len();
        (self.spans <= limits::MAX_SPANS).then_some(line)
    }

    fn finish(mut self) -> Option<Vec<Block>> {
        self.close_inline()?;
        // Unclosed containers cannot happen with a well-behaved parser;
        // if they do, the text is shown plain.
        match (self.frames.pop()?, self.frames.is_empty()) {
            (Frame::Root(blocks), true) => Some(blocks),
            _ => None,
        }
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests;
