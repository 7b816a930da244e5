//! The inline pass over plain text (never over code or link targets): bare
//! links, `@mentions`, `#hashtags` and `:shortcode:` emoji.
//!
//! One left-to-right scan; every look-ahead is bounded (a shortcode by
//! [`MAX_SHORTCODE`](super::limits::MAX_SHORTCODE), a link or a name by the
//! text itself, after which the scan continues past it), so the work is
//! linear in the text.

use super::limits::{MAX_SHORTCODE, MAX_URL_BYTES};

/// A piece of text as the inline pass sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Text shown as it is.
    Text(&'a str),
    /// A bare link (`https://…`, `http://…`, `mailto:…`).
    Url(&'a str),
    /// `@name`, with the `@`.
    Mention(&'a str),
    /// `#tag`, with the `#`.
    Hashtag(&'a str),
    /// An emoji from a known `:shortcode:`.
    Emoji(&'static str),
}

/// Schemes a link may have to be opened; compared case-insensitively.
const SCHEMES: [&str; 3] = ["https://", "http://", "mailto:"];

/// Whether `url` may be opened in the system browser or mail client:
/// http(s) or mailto, something after the scheme, no spaces or control
/// characters, and not absurdly long.
pub fn openable(url: &str) -> bool {
    url.len() <= MAX_URL_BYTES
        && SCHEMES
            .iter()
            .any(|scheme| starts_with_ignore_case(url, scheme) && url.len() > scheme.len())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Where an openable link leads, as shown beside a link whose text does
/// not say it: the host of a web link (without any `user@` part, an old
/// trick to make `https://bank.example@evil.example` look like the bank),
/// the address of a mail link.
pub(super) fn host(url: &str) -> &str {
    let Some(scheme) = SCHEMES
        .iter()
        .find(|scheme| starts_with_ignore_case(url, scheme))
    else {
        return url;
    };
    let rest = url.get(scheme.len()..).unwrap_or_default();
    if *scheme == "mailto:" {
        return rest.split(['?', '#']).next().unwrap_or(rest);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// Whether a link's text already says where it leads (it is the target,
/// with or without its scheme).
pub(super) fn says_target(text: &str, target: &str) -> bool {
    let bare = SCHEMES
        .iter()
        .find(|scheme| starts_with_ignore_case(target, scheme))
        .and_then(|scheme| target.get(scheme.len()..))
        .unwrap_or(target);
    text.eq_ignore_ascii_case(target) || text.eq_ignore_ascii_case(bare)
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Splits `text` into tokens. With `people` false (inside a link's text)
/// only shortcodes are converted.
pub(super) fn tokens(text: &str, people: bool) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    let mut previous: Option<char> = None;
    while let Some(rest) = text.get(at..) {
        let Some(c) = rest.chars().next() else {
            break;
        };
        let found = match c {
            'h' | 'H' | 'm' | 'M' if people && !previous.is_some_and(is_word) => {
                match url_at(rest) {
                    Scan::Url(n) => Some((n, Token::Url(rest.get(..n).unwrap_or("")))),
                    Scan::Skip(n) => {
                        at += n;
                        previous = text.get(..at).and_then(|done| done.chars().next_back());
                        continue;
                    }
                    Scan::No => None,
                }
            }
            '@' if people && !previous.is_some_and(|p| is_word(p) || p == '@') => {
                name_len(rest.get(1..).unwrap_or(""), is_name)
                    .map(|n| (n + 1, Token::Mention(rest.get(..=n).unwrap_or(""))))
            }
            '#' if people && !previous.is_some_and(|p| is_word(p) || p == '&' || p == '#') => {
                name_len(rest.get(1..).unwrap_or(""), is_word)
                    .filter(|&n| {
                        rest.get(1..=n)
                            .is_some_and(|t| t.chars().any(char::is_alphabetic))
                    })
                    .map(|n| (n + 1, Token::Hashtag(rest.get(..=n).unwrap_or(""))))
            }
            ':' => shortcode(rest).map(|(n, emoji)| (n, Token::Emoji(emoji))),
            _ => None,
        };
        match found {
            Some((len, token)) => {
                if plain_from < at {
                    out.push(Token::Text(text.get(plain_from..at).unwrap_or("")));
                }
                out.push(token);
                at += len;
                plain_from = at;
                previous = text.get(..at).and_then(|done| done.chars().next_back());
            }
            None => {
                at += c.len_utf8();
                previous = Some(c);
            }
        }
    }
    if plain_from < text.len() {
        out.push(Token::Text(text.get(plain_from..).unwrap_or("")));
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_name(c: char) -> bool {
    is_word(c) || c == '-' || c == '.'
}

/// The length of a name at the start of `text` (without trailing `.` or
/// `-`, which end sentences more often than names), if there is one.
fn name_len(text: &str, allowed: fn(char) -> bool) -> Option<usize> {
    let end = text
        .char_indices()
        .find(|&(_, c)| !allowed(c))
        .map_or(text.len(), |(i, _)| i);
    let name = text.get(..end)?.trim_end_matches(['.', '-']);
    (!name.is_empty()).then_some(name.len())
}

/// What starts at a position that begins with a link scheme.
enum Scan {
    /// Not a link.
    No,
    /// A link of this many bytes.
    Url(usize),
    /// A run of this many bytes too long to be a link: skipped whole, so
    /// the scan stays linear.
    Skip(usize),
}

/// A bare link at the start of `text`: a known scheme up to the next
/// space or `<>"`, without trailing sentence punctuation or an unbalanced
/// closing bracket.
fn url_at(text: &str) -> Scan {
    let Some(scheme) = SCHEMES
        .iter()
        .find(|scheme| starts_with_ignore_case(text, scheme))
    else {
        return Scan::No;
    };
    let run = text
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
        .map_or(text.len(), |(i, _)| i);
    if run > MAX_URL_BYTES {
        return Scan::Skip(run);
    }
    let Some(mut url) = text.get(..run) else {
        return Scan::No;
    };
    let count = |c: char| url.chars().filter(|&x| x == c).count();
    let (opened, mut closed) = (count('('), count(')'));
    let (opened_square, mut closed_square) = (count('['), count(']'));
    while let Some(last) = url.chars().next_back() {
        let trim = match last {
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_' => true,
            ')' => closed > opened,
            ']' => closed_square > opened_square,
            _ => false,
        };
        if !trim {
            break;
        }
        match last {
            ')' => closed -= 1,
            ']' => closed_square -= 1,
            _ => {}
        }
        url = url.get(..url.len() - last.len_utf8()).unwrap_or_default();
    }
    if url.len() > scheme.len() && openable(url) {
        Scan::Url(url.len())
    } else {
        Scan::No
    }
}

/// A known `:shortcode:` at the start of `text`: its length and emoji.
fn shortcode(text: &str) -> Option<(usize, &'static str)> {
    let body = text.get(1..)?;
    let end = body
        .char_indices()
        .take(MAX_SHORTCODE + 1)
        .find(|&(_, c)| c == ':')
        .map(|(i, _)| i)?;
    let name = body.get(..end)?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '+' | '-'))
    {
        return None;
    }
    let emoji = emojis::get_by_shortcode(name)?;
    Some((end + 2, emoji.as_str()))
}

#[cfg(test)]
mod tests {
    use super::Token::*;
    use super::*;

    #[test]
    fn shortcodes_become_emoji_and_unknown_ones_stay() {
        assert_eq!(
            tokens("hi :wave: there", true),
            vec![Text("hi "), Emoji("👋"), Text(" there")]
        );
        assert_eq!(
            tokens(":nope_not_one: :+1:", true),
            vec![Text(":nope_not_one: "), Emoji("👍")]
        );
        // The second colon of an unknown code may start a known one.
        assert_eq!(tokens(":x_y:smile:", true), vec![Text(":x_y"), Emoji("😄")]);
        assert_eq!(tokens("at 12:30:45", true), vec![Text("at 12:30:45")]);
        assert_eq!(tokens("::", true), vec![Text("::")]);
    }

    #[test]
    fn mentions_and_hashtags() {
        assert_eq!(
            tokens("@ada, see #rust_lang and #42.", true),
            vec![
                Mention("@ada"),
                Text(", see "),
                Hashtag("#rust_lang"),
                Text(" and #42."),
            ]
        );
        // Not in e-mail addresses, HTML entities or the middle of words.
        assert_eq!(
            tokens("ada@example.org", true),
            vec![Text("ada@example.org")]
        );
        assert_eq!(tokens("a#b &#35;x", true), vec![Text("a#b &#35;x")]);
        // A trailing full stop ends the sentence, not the name.
        assert_eq!(
            tokens("thanks @bob.", true),
            vec![Text("thanks "), Mention("@bob"), Text(".")]
        );
        assert_eq!(tokens("@ #", true), vec![Text("@ #")]);
        // Inside a link's text only shortcodes count.
        assert_eq!(
            tokens("@ada #tag :wave:", false),
            vec![Text("@ada #tag "), Emoji("👋")]
        );
    }

    #[test]
    fn bare_links_keep_their_mentions_and_hashtags() {
        assert_eq!(
            tokens("see https://example.org/@ada/#top. ok", true),
            vec![
                Text("see "),
                Url("https://example.org/@ada/#top"),
                Text(". ok")
            ]
        );
        assert_eq!(
            tokens("(http://a.example/x_(y)) mailto:ada@example.org", true),
            vec![
                Text("("),
                Url("http://a.example/x_(y)"),
                Text(") "),
                Url("mailto:ada@example.org"),
            ]
        );
        assert_eq!(
            tokens("HTTPS://EXAMPLE.ORG/:wave:/x: yes", true),
            vec![Url("HTTPS://EXAMPLE.ORG/:wave:/x"), Text(": yes")]
        );
        // Only whole words, and only the allowed schemes.
        assert_eq!(
            tokens("xhttps://a.example", true),
            vec![Text("xhttps://a.example")]
        );
        assert_eq!(tokens("https:// x", true), vec![Text("https:// x")]);
        assert_eq!(
            tokens("javascript:alert(1) ftp://a.example", true),
            vec![Text("javascript:alert(1) ftp://a.example")]
        );
    }

    #[test]
    fn hosts_of_links() {
        assert_eq!(host("https://example.org/a?b#c"), "example.org");
        assert_eq!(host("HTTP://Example.org:8080"), "Example.org:8080");
        assert_eq!(
            host("https://bank.example@evil.example/login"),
            "evil.example"
        );
        assert_eq!(host("mailto:ada@example.org?subject=hi"), "ada@example.org");
        assert!(says_target("https://example.org", "https://example.org"));
        assert!(says_target("example.org/a", "https://example.org/a"));
        assert!(!says_target("my bank", "https://evil.example"));
        assert!(!says_target("https://bank.example", "https://evil.example"));
    }

    #[test]
    fn link_schemes() {
        assert!(openable("https://example.org/a?b=c#d"));
        assert!(openable("HTTP://example.org"));
        assert!(openable("mailto:ada@example.org"));
        assert!(!openable("https://"));
        assert!(!openable("javascript:alert(1)"));
        assert!(!openable("file:///etc/passwd"));
        assert!(!openable("data:text/html,hi"));
        assert!(!openable("ftp://example.org"));
        assert!(!openable("relative/path"));
        assert!(!openable("https://exa mple.org"));
        assert!(!openable("https://example.org/\u{7}"));
        assert!(!openable(&format!("https://{}", "a".repeat(MAX_URL_BYTES))));
    }

    #[test]
    fn odd_text_does_not_panic() {
        for text in [
            "",
            "@",
            "#",
            ":",
            "h",
            "mailto:",
            "é@é#é:é:",
            "\u{0}@\u{0}",
            "🙂:🙂:",
        ] {
            let tokens = tokens(text, true);
            let joined: usize = tokens
                .iter()
                .map(|t| match t {
                    Text(s) | Url(s) | Mention(s) | Hashtag(s) => s.len(),
                    Emoji(_) => 0,
                })
                .sum();
            assert!(joined <= text.len());
        }
    }
}
