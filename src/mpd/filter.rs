//! What a client's `search` asks for, read from its arguments in both of
//! MPD's forms: the old `TAG VALUE` pairs (`search any "daft punk"`,
//! `search artist "x" title "y"`) and filter expressions (`search
//! "((any contains 'daft punk') AND (album == 'x'))"`), each followed by
//! `sort TAG`, `window START:END` or `position POS`. Pure.
//!
//! YouTube Music's search takes words, not filters: the words are the
//! values of positive terms on `any`, `artist`, `albumartist`, `title` and
//! `album`. A search that also filters on anything else (a genre, a
//! negation, a file, a date) is one YouTube cannot answer: it gets MPD's
//! songs alone.

/// The tags whose values become the words searched for.
const WORD_TAGS: [&str; 5] = ["any", "artist", "albumartist", "title", "album"];
/// The operators that mean "songs like this".
const WORD_OPS: [&str; 4] = ["==", "contains", "starts_with", "eq_cs"];

/// The trailing keywords of a search.
const KEYWORDS: [&str; 3] = ["sort", "window", "position"];

/// What a search asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Asked {
    /// The words to search YouTube Music for; `None`: MPD's songs alone.
    pub words: Option<String>,
    /// `window START:END` (END `None`: to the end).
    pub window: Option<(usize, Option<usize>)>,
}

/// Why the arguments are not a search MPD would take: the caller relays
/// such a command to MPD, whose `ACK` the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotASearch(pub String);

/// Reads a search's arguments (without the command name).
pub fn asked(args: &[String]) -> Result<Asked, NotASearch> {
    let (terms, trailing) = match args.first() {
        Some(first) if first.trim_start().starts_with('(') => (expression(first)?, &args[1..]),
        Some(_) => old_form(args)?,
        None => return Err(NotASearch("no filter".into())),
    };
    let mut asked = Asked {
        words: words_of(&terms),
        window: None,
    };
    for pair in trailing.chunks(2) {
        let [key, value] = pair else {
            return Err(NotASearch("a keyword without its value".into()));
        };
        if key.eq_ignore_ascii_case("window") {
            asked.window = Some(window(value)?);
        } else if !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(NotASearch(format!("unknown keyword {key:?}")));
        }
    }
    Ok(asked)
}

/// The filter alone: `args` without the trailing keywords, for a
/// `count` of the same songs.
pub fn filter_part(args: &[String]) -> &[String] {
    match args.first() {
        Some(first) if first.trim_start().starts_with('(') => &args[..1],
        _ => {
            let mut at = 0;
            while at < args.len() && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&args[at])) {
                at += 2;
            }
            &args[..at.min(args.len())]
        }
    }
}

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// `TAG OP 'VALUE'`, not under a negation.
    Tag {
        tag: String,
        op: String,
        value: String,
    },
    /// Anything YouTube Music's search cannot apply.
    Other,
}

/// `TAG VALUE` pairs up to the first keyword; the rest.
fn old_form(args: &[String]) -> Result<(Vec<Term>, &[String]), NotASearch> {
    let mut terms = Vec::new();
    let mut at = 0;
    while at < args.len() {
        let tag = &args[at];
        if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(tag)) {
            break;
        }
        let Some(value) = args.get(at + 1) else {
            return Err(NotASearch("a tag without its value".into()));
        };
        terms.push(Term::Tag {
            tag: tag.to_ascii_lowercase(),
            op: "contains".into(),
            value: value.clone(),
        });
        at += 2;
    }
    Ok((terms, &args[at..]))
}

fn words_of(terms: &[Term]) -> Option<String> {
    let mut words = Vec::new();
    for term in terms {
        match term {
            Term::Tag { tag, op, value }
                if WORD_TAGS.contains(&tag.as_str()) && WORD_OPS.contains(&op.as_str()) =>
            {
                words.push(value.trim());
            }
            _ => return None,
        }
    }
    let words = words.join(" ");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    (!words.is_empty()).then_some(words)
}

fn window(text: &str) -> Result<(usize, Option<usize>), NotASearch> {
    let bad = || NotASearch(format!("bad window {text:?}"));
    let (start, end) = text.split_once(':').ok_or_else(bad)?;
    let start = start.parse().map_err(|_| bad())?;
    let end = match end {
        "" => None,
        end => Some(end.parse().map_err(|_| bad())?),
    };
    Ok((start, end))
}

/// The terms of a filter expression, flattened through `AND`s; a negated
/// part is [`Term::Other`].
fn expression(text: &str) -> Result<Vec<Term>, NotASearch> {
    let mut cursor = Cursor {
        rest: text.trim_start(),
    };
    let mut terms = Vec::new();
    cursor.group(&mut terms, false, 0)?;
    cursor.skip_spaces();
    match cursor.rest.is_empty() {
        true => Ok(terms),
        false => Err(NotASearch("text after the expression".into())),
    }
}

/// How deep parentheses may nest (a hostile line cannot recurse forever).
const MAX_DEPTH: usize = 32;

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, what: &str) -> bool {
        self.skip_spaces();
        match self.rest.strip_prefix(what) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, what: &str) -> Result<(), NotASearch> {
        match self.eat(what) {
            true => Ok(()),
            false => Err(NotASearch(format!("{what:?} expected"))),
        }
    }

    /// `( ... )`: a negation, a group of `AND`ed expressions, or a term.
    fn group(
        &mut self,
        terms: &mut Vec<Term>,
        negated: bool,
        depth: usize,
    ) -> Result<(), NotASearch> {
        if depth > MAX_DEPTH {
            return Err(NotASearch("too deeply nested".into()));
        }
        self.expect("(")?;
        if self.eat("!") {
            self.group(terms, true, depth + 1)?;
        } else if self.rest.trim_start().starts_with('(') {
            self.group(terms, negated, depth + 1)?;
            while self.eat("AND") {
                self.group(terms, negated, depth + 1)?;
            }
        } else {
            let term = self.term()?;
            terms.push(if negated { Term::Other } else { term });
        }
        self.expect(")")
    }

    /// `TAG OP VALUE`, or `base 'x'`, `modified-since 'x'`, `added-since 'x'`.
    fn term(&mut self) -> Result<Term, NotASearch> {
        let name = self.word()?.to_ascii_lowercase();
        if matches!(name.as_str(), "base" | "modified-since" | "added-since") {
            self.value()?;
            return Ok(Term::Other);
        }
        let op = self.word()?;
        let value = self.value()?;
        Ok(Term::Tag {
            tag: name,
            op,
            value,
        })
    }

    fn word(&mut self) -> Result<String, NotASearch> {
        self.skip_spaces();
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '\'' || c == '"')
            .unwrap_or(self.rest.len());
        if end == 0 {
            return Err(NotASearch("a word expected".into()));
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(word.to_owned())
    }

    /// A `'quoted'` or `"quoted"` string (`\` escapes), or a bare number.
    fn value(&mut self) -> Result<String, NotASearch> {
        self.skip_spaces();
        let mut chars = self.rest.char_indices();
        let quote = match chars.next() {
            Some((_, q @ ('\'' | '"'))) => q,
            Some(_) => return self.word(),
            None => return Err(NotASearch("a value expected".into())),
        };
        let mut value = String::new();
        let mut escaped = false;
        for (at, c) in chars {
            match (escaped, c) {
                (true, c) => {
                    value.push(c);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, c) if c == quote => {
                    self.rest = &self.rest[at + c.len_utf8()..];
                    return Ok(value);
                }
                (false, c) => value.push(c),
            }
        }
        Err(NotASearch("a value without its closing quote".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(args: &[&str]) -> Result<Asked, NotASearch> {
        asked(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    fn words(args: &[&str]) -> Option<String> {
        ask(args).expect("a search").words
    }

    #[test]
    fn the_old_form_gives_its_values() {
        assert_eq!(words(&["any", "daft punk"]).as_deref(), Some("daft punk"));
        assert_eq!(
            words(&["Artist", "Daft Punk", "title", " Around  the World"]).as_deref(),
            Some("Daft Punk Around the World")
        );
        assert_eq!(words(&["genre", "house"]), None);
        assert_eq!(words(&["any", "x", "file", "y"]), None);
        let windowed = ask(&["any", "x", "sort", "Title", "window", "0:20"]).expect("ok");
        assert_eq!(windowed.window, Some((0, Some(20))));
        assert_eq!(windowed.words.as_deref(), Some("x"));
        let args: Vec<String> = ["any", "x", "window", "0:2"].map(String::from).into();
        assert_eq!(filter_part(&args), &args[..2]);
        assert!(ask(&["any"]).is_err());
        assert!(ask(&[]).is_err());
    }

    #[test]
    fn filter_expressions_give_their_positive_word_terms() {
        assert_eq!(
            words(&["((any contains 'daft punk'))"]).as_deref(),
            Some("daft punk")
        );
        assert_eq!(
            words(&["(any contains 'daft punk')"]).as_deref(),
            Some("daft punk")
        );
        assert_eq!(
            words(&["((artist == \"It's\") AND (album starts_with 'Dis\\'covery'))"]).as_deref(),
            Some("It's Dis'covery")
        );
        assert_eq!(words(&["((artist == 'x') AND (!(genre == 'y')))"]), None);
        assert_eq!(words(&["((base 'Music') AND (any contains 'x'))"]), None);
        assert_eq!(words(&["(title =~ 'x.*')"]), None);
        assert_eq!(words(&["(date == '1997')"]), None);
        let a = ask(&["(any contains 'x')", "window", "5:"]).expect("ok");
        assert_eq!(a.window, Some((5, None)));
    }

    #[test]
    fn malformed_expressions_are_not_searches() {
        for bad in [
            "(any contains 'x'",
            "(any contains 'x) ",
            "((any contains 'x') OR (artist == 'y'))",
            "(any contains 'x') trailing",
            "()",
        ] {
            assert!(ask(&[bad]).is_err(), "{bad}");
        }
        let deep = format!("{}any == 'x'{}", "(".repeat(100), ")".repeat(100));
        assert!(ask(&[&deep]).is_err());
        assert!(ask(&["(any == 'x')", "window", "a:b"]).is_err());
        assert!(ask(&["(any == 'x')", "frobnicate", "1"]).is_err());
    }
}
