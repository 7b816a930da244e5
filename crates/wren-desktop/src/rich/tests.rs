#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

fn blocks(text: &str) -> Vec<Block> {
    match Rich::parse(text) {
        Rich::Blocks(blocks) => blocks,
        Rich::Plain => panic!("{text:?} parsed as plain text"),
    }
}

fn paragraph(text: &str) -> Line {
    match blocks(text).as_slice() {
        [Block::Paragraph(line)] => line.clone(),
        other => panic!("{text:?} is not one paragraph: {other:?}"),
    }
}

fn kinds(line: &Line) -> Vec<(&str, &Kind)> {
    line.spans
        .iter()
        .map(|s| (s.text.as_str(), &s.kind))
        .collect()
}

#[test]
fn text_without_markup_stays_plain() {
    for text in [
        "",
        "hello Bob",
        "two\nlines",
        "what about 3 > 2?",
        "ada@example.org",
        "it costs 5 * 3 = 15",
        "12:30",
    ] {
        assert_eq!(Rich::parse(text), Rich::Plain, "{text:?}");
    }
}

#[test]
fn emphasis_and_strikethrough() {
    let line = paragraph("a *b* **c** ~~d~~");
    assert_eq!(line.plain, "a b c d");
    let styles: Vec<_> = line
        .spans
        .iter()
        .map(|s| (s.text.as_str(), s.emphasis, s.strong, s.strike))
        .collect();
    assert_eq!(
        styles,
        vec![
            ("a ", false, false, false),
            ("b", true, false, false),
            (" ", false, false, false),
            ("c", false, true, false),
            (" ", false, false, false),
            ("d", false, false, true),
        ]
    );
}

#[test]
fn shortcodes_become_emoji_but_not_in_code() {
    let line = paragraph("hi :wave: `:wave:` :not_an_emoji:");
    assert_eq!(line.plain, "hi 👋 :wave: :not_an_emoji:");
    assert_eq!(
        kinds(&line),
        vec![
            ("hi 👋 ", &Kind::Text),
            (":wave:", &Kind::Code),
            (" :not_an_emoji:", &Kind::Text),
        ]
    );
    // A lone known shortcode is not plain text any more.
    assert_eq!(paragraph(":tada:").plain, "🎉");

    let blocks = blocks("```\n:wave: @ada #tag https://example.org\n```");
    let [Block::Code { language, code }] = blocks.as_slice() else {
        panic!("not a code block: {blocks:?}");
    };
    assert_eq!(language, &None);
    assert_eq!(code.plain, ":wave: @ada #tag https://example.org");
    assert!(code.spans.iter().all(|s| s.kind == Kind::Syntax(None)));
}

#[test]
fn mentions_and_hashtags_but_not_in_code_or_links() {
    let line = paragraph("@ada look at #wren");
    assert_eq!(
        kinds(&line),
        vec![
            ("@ada", &Kind::Mention),
            (" look at ", &Kind::Text),
            ("#wren", &Kind::Hashtag),
        ]
    );
    let line = paragraph("`@ada #wren` https://example.org/@ada#wren");
    assert_eq!(
        kinds(&line),
        vec![
            ("@ada #wren", &Kind::Code),
            (" ", &Kind::Text),
            (
                "https://example.org/@ada#wren",
                &Kind::Link("https://example.org/@ada#wren".into())
            ),
        ]
    );
    let target = Kind::Link("https://example.org/".into());
    let line = paragraph("[@ada #wren :wave:](https://example.org/)");
    assert_eq!(
        kinds(&line),
        vec![
            ("@ada #wren 👋", &target),
            (" (example.org)", &Kind::LinkHost)
        ]
    );
    let line = paragraph("<https://example.org/#wren>");
    assert_eq!(
        kinds(&line),
        vec![(
            "https://example.org/#wren",
            &Kind::Link("https://example.org/#wren".into())
        )]
    );
    // A heading needs a space after its hashes: this is a hashtag.
    assert_eq!(kinds(&paragraph("#wren")), vec![("#wren", &Kind::Hashtag)]);
}

#[test]
fn only_web_and_mail_links_are_links() {
    let line = paragraph(
        "[a](https://example.org) [b](javascript:alert(1)) [c](file:///etc/passwd) \
         [d](mailto:ada@example.org) [e](relative)",
    );
    let links: Vec<_> = line
        .spans
        .iter()
        .filter_map(|s| match &s.kind {
            Kind::Link(target) => Some((s.text.as_str(), target.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        vec![
            ("a", "https://example.org"),
            ("d", "mailto:ada@example.org")
        ]
    );
    // Links whose text does not say where they lead are followed by it.
    assert_eq!(line.plain, "a (example.org) b c d (ada@example.org) e");
    let line = paragraph("[bank.example](https://bank.example@evil.example/)");
    assert_eq!(line.plain, "bank.example (evil.example)");
    let line = paragraph("[example.org](https://example.org) <mailto:ada@example.org>");
    assert_eq!(line.plain, "example.org mailto:ada@example.org");
    // Images are not fetched: their description links to them.
    let line = paragraph("![a cat](https://example.org/cat.png)");
    assert_eq!(
        kinds(&line),
        vec![
            ("a cat", &Kind::Link("https://example.org/cat.png".into())),
            (" (example.org)", &Kind::LinkHost)
        ]
    );
}

#[test]
fn lists_quotes_headings_and_rules() {
    let blocks = blocks("# Title\n\n> quoted *text*\n\n1. one\n2. two\n\n- a\n  - b\n\n---");
    let [
        Block::Heading(1, title),
        Block::Quote(quote),
        Block::List {
            start: Some(1),
            items: numbered,
        },
        Block::List { start: None, items },
        Block::Rule,
    ] = blocks.as_slice()
    else {
        panic!("unexpected blocks: {blocks:?}");
    };
    assert_eq!(title.plain, "Title");
    assert!(matches!(quote.as_slice(), [Block::Paragraph(l)] if l.plain == "quoted text"));
    assert_eq!(numbered.len(), 2);
    assert!(matches!(numbered[1].as_slice(), [Block::Paragraph(l)] if l.plain == "two"));
    assert!(matches!(
        items[0].as_slice(),
        [Block::Paragraph(a), Block::List { items: inner, .. }]
            if a.plain == "a" && inner.len() == 1
    ));
}

#[test]
fn fenced_code_is_highlighted_by_language() {
    let blocks = blocks("```rust\nfn main() {\n    let x = 1;\n}\n```");
    let [Block::Code { language, code }] = blocks.as_slice() else {
        panic!("not a code block: {blocks:?}");
    };
    assert_eq!(language.as_deref(), Some("rust"));
    assert_eq!(code.plain, "fn main() {\n    let x = 1;\n}");
    let joined: String = code.spans.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(joined, code.plain);
    let colours: std::collections::HashSet<String> = code
        .spans
        .iter()
        .filter_map(|s| match s.kind {
            Kind::Syntax(Some(c)) => Some(format!("{c:?}")),
            _ => None,
        })
        .collect();
    assert!(colours.len() >= 2, "keywords and text differ: {colours:?}");
}

#[test]
fn large_code_blocks_are_not_highlighted() {
    let code = "let x = 1;\n".repeat(limits::MAX_HIGHLIGHT_BYTES / 10);
    let blocks = blocks(&format!("```rust\n{code}```"));
    let [Block::Code { code: line, .. }] = blocks.as_slice() else {
        panic!("not a code block");
    };
    assert_eq!(line.spans.len(), 1);
    assert_eq!(line.spans[0].kind, Kind::Syntax(None));
}

#[test]
fn html_is_shown_as_typed() {
    assert_eq!(Rich::parse("a <b>bold</b> claim"), Rich::Plain);
    assert_eq!(Rich::parse("<script>alert(1)</script>"), Rich::Plain);
    let line = paragraph("**a** <b>bold</b> claim");
    assert_eq!(line.plain, "a <b>bold</b> claim");
    assert!(
        line.spans
            .iter()
            .skip(1)
            .all(|s| s.kind == Kind::Text && !s.strong)
    );
}

#[test]
fn limits_fall_back_to_plain_text() {
    // Too long.
    let long = format!("*{}*", "a".repeat(limits::MAX_BYTES));
    assert_eq!(Rich::parse(&long), Rich::Plain);
    // Too deep.
    let deep = format!("{} deep", ">".repeat(limits::MAX_DEPTH + 2));
    assert_eq!(Rich::parse(&deep), Rich::Plain);
    let shallow = format!("{} shallow", ">".repeat(limits::MAX_DEPTH - 1));
    assert!(matches!(Rich::parse(&shallow), Rich::Blocks(_)));
    // Too many pieces.
    let many = "*a* ".repeat(limits::MAX_SPANS);
    assert_eq!(Rich::parse(&many), Rich::Plain);
}

/// 64 KiB of pathological nesting, parsed without the length cap: the
/// other limits must still end the work quickly and without a panic.
#[test]
fn pathological_input_neither_hangs_nor_panics() {
    const SIZE: usize = 64 * 1024;
    let inputs = [
        ">".repeat(SIZE),
        "> ".repeat(SIZE / 2),
        "[".repeat(SIZE),
        "[](".repeat(SIZE / 3),
        "[a](".repeat(SIZE / 4),
        "*_".repeat(SIZE / 2),
        "**a".repeat(SIZE / 3),
        "- ".repeat(SIZE / 2),
        "1. ".repeat(SIZE / 3),
        "`".repeat(SIZE),
        "<a".repeat(SIZE / 2),
        "\\".repeat(SIZE),
        ":".repeat(SIZE),
        "@a ".repeat(SIZE / 3),
        "https://".repeat(SIZE / 8),
        "https://)".repeat(SIZE / 9),
        "(https://a.b/[x]".repeat(SIZE / 16),
        "```\n".repeat(SIZE / 4),
        "(((((".repeat(SIZE / 5) + &")".repeat(SIZE / 5),
        "> - > 1. ".repeat(SIZE / 9),
    ];
    for input in &inputs {
        // Whatever the outcome, it is an outcome.
        let _ = Rich::parse_within(input, usize::MAX);
        assert_eq!(Rich::parse(input), Rich::Plain);
    }
}
