//! toml's and serde's errors in a user's words: which key, what it must be,
//! and how to write it (`expected u16` becomes "a whole number from 1 to
//! 65535"). Pure: the config text and toml's error in, one sentence out.

use std::ops::Range;

use super::Config;

/// One toml error about `text` as a sentence that names the key (`[server]
/// port`) and what it must be, after the line it is on, e.g.
/// `line 2 (`port = "x"`): [server] port must be a whole number from 1 to
/// 65535, not "x"`. `name` is the file's name.
pub(super) fn explain(name: &str, text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return format!("{name}: {message}{HINT}");
    };
    let place = Place::of(text, &span);
    let what = place
        .entry
        .as_ref()
        .and_then(|entry| about_entry(entry, message, &text[clamp(text, &span)]));
    let head = format!("{name} line {} (`{}`)", place.line, place.snippet);
    match what {
        Some(what) => format!("{head}: {what}"),
        None => format!("{head}: {message}{HINT}"),
    }
}

/// Where `key` (`[icy] metaint`) is set in `text`: `line 2 (`metaint =
/// 0`)`, for a value refused after reading; `None` when the text does not
/// set it (a default, a command-line override).
pub(super) fn line_of(text: &str, key: &str) -> Option<String> {
    let (section, name) = match key.strip_prefix('[').and_then(|k| k.split_once("] ")) {
        Some((section, name)) => (Some(section), name),
        None => (None, key),
    };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header.split(']').next().map(|h| h.trim().to_owned());
            continue;
        }
        let Some((k, _)) = trimmed.split_once('=') else {
            continue;
        };
        if k.trim() == name && current.as_deref() == section {
            return Some(format!("line {} (`{trimmed}`)", i + 1));
        }
    }
    None
}

/// Said after what toml says when there is nothing better to say.
const HINT: &str = " (the shipped proxy.toml lists every key, with a comment)";

/// Where an error is: its line (1-based), that line trimmed, and the
/// `key = value` written on it, if it is one.
struct Place {
    line: usize,
    snippet: String,
    entry: Option<Entry>,
}

/// A `key = value` line: the key with its section, and the value as written.
struct Entry {
    section: Option<String>,
    key: String,
    raw: String,
}

impl Entry {
    /// `[server] port`, or `server` for a key outside any section.
    fn name(&self) -> String {
        match &self.section {
            Some(section) => format!("[{section}] {}", self.key),
            None => self.key.clone(),
        }
    }
}

impl Place {
    fn of(text: &str, span: &Range<usize>) -> Place {
        let start = clamp(text, span).start;
        let line = text[..start].matches('\n').count() + 1;
        let lines: Vec<&str> = text.lines().collect();
        let current = lines.get(line - 1).copied().unwrap_or("").trim();
        // The section is the last `[name]` header above the line.
        let section = lines[..(line - 1).min(lines.len())]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| l.starts_with('['))
            .and_then(|l| {
                let name = l.strip_prefix('[')?.split(']').next()?.trim();
                (!l.starts_with("[[") && bare(name)).then(|| name.to_owned())
            });
        let entry = current.split_once('=').and_then(|(key, value)| {
            let key = key.trim();
            bare(key).then(|| Entry {
                section,
                key: key.to_owned(),
                raw: without_comment(value).trim().to_owned(),
            })
        });
        Place {
            line,
            snippet: current.to_owned(),
            entry,
        }
    }
}

/// What went wrong with one `key = value`, in words; `None` when toml's
/// own message says it best (an unknown key already names the key).
fn about_entry(entry: &Entry, message: &str, at: &str) -> Option<String> {
    let name = entry.name();
    if message.starts_with("unknown field") {
        return nearest_key(&entry.key, message).map(|key| {
            let section = entry
                .section
                .as_deref()
                .map_or(String::new(), |s| format!("[{s}] "));
            format!("{section}{} is not a key: did you mean {key}?", entry.key)
        });
    }
    if message == "duplicate key" {
        return Some(format!("{name} is set twice: keep one"));
    }
    let wanted = wanted(entry.section.as_deref(), &entry.key)?;
    let want = Want::from_expected(&wanted);
    if entry.raw.is_empty() {
        return Some(format!("{name} has no value: give {}", want.words()));
    }
    let typed = message.starts_with("invalid type") || message.starts_with("invalid value");
    if let Some(quote) = unclosed_quote(&entry.raw) {
        let inner = entry.raw[1..].trim_end();
        return Some(format!(
            "close the quotes: {} = {quote}{inner}{quote}",
            entry.key
        ));
    }
    if !typed && want == Want::Text {
        // A bare word or address toml cannot read as a value.
        return Some(format!(
            "put the {} in quotes: {} = \"{}\"",
            noun(&entry.key),
            entry.key,
            entry.raw.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let found = if want == Want::List || at.trim().is_empty() {
        entry.raw.as_str()
    } else {
        at.trim()
    };
    let unquoted = found
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .filter(|inner| want.is_number() && inner.trim().parse::<f64>().is_ok());
    Some(match unquoted {
        Some(inner) => format!(
            "{name} must be {}, without quotes: {} = {}",
            want.words(),
            entry.key,
            inner.trim()
        ),
        None => format!("{name} must be {}, not {}", want.words(), short(found)),
    })
}

/// What a key takes, by serde's own words: what it says it expected when
/// given a string (`None`: no such key). Found by trying, so that it
/// cannot drift from [`Config`].
fn wanted(section: Option<&str>, key: &str) -> Option<String> {
    let probe = match section {
        Some(section) => format!("[{section}]\n{key} = \"?\"\n"),
        None => format!("{key} = \"?\"\n"),
    };
    match toml::from_str::<Config>(&probe) {
        Ok(_) => Some("a string".into()),
        Err(e) if e.message().starts_with("invalid type") => e
            .message()
            .rsplit_once(", expected ")
            .map(|(_, expected)| expected.to_owned()),
        Err(_) => None,
    }
}

/// The shapes of value a key can take.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Port,
    Boolean,
    Whole,
    Number,
    Text,
    List,
    Section(String),
    Other(String),
}

impl Want {
    /// From serde's "expected …" words.
    fn from_expected(expected: &str) -> Want {
        match expected {
            "u16" => Want::Port,
            "u8" | "u32" | "u64" | "usize" => Want::Whole,
            "f32" | "f64" => Want::Number,
            "a boolean" => Want::Boolean,
            "a string" | "path string" => Want::Text,
            "a sequence" => Want::List,
            other => match other.strip_prefix("struct ") {
                Some(name) => Want::Section(name.trim_end_matches("Settings").to_lowercase()),
                None => Want::Other(other.to_owned()),
            },
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Want::Port | Want::Whole | Want::Number)
    }

    fn words(&self) -> String {
        match self {
            Want::Port => "a whole number from 0 to 65535 (0: any free port)".into(),
            Want::Boolean => "true or false (no quotes)".into(),
            Want::Whole => "a whole number (0 or more)".into(),
            Want::Number => "a number such as 30 or 0.5".into(),
            Want::Text => "text in quotes".into(),
            Want::List => "a list of strings such as [\"yt-dlp\", …]".into(),
            Want::Section(name) => {
                format!("a section: [{name}] on a line of its own, its keys below")
            }
            Want::Other(what) => what.clone(),
        }
    }
}

/// What to call a key's text when asking for quotes.
fn noun(key: &str) -> &'static str {
    if key == "host" || key.ends_with("address") {
        "address"
    } else if key.ends_with("url") {
        "URL"
    } else if key.ends_with("path") || key.ends_with("dir") || key.ends_with("file") {
        "path"
    } else {
        "text"
    }
}

/// The quote a value opens and never closes (`"127.0.0.1`), if it does.
fn unclosed_quote(raw: &str) -> Option<char> {
    let quote = raw.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &raw[1..];
    (!rest.contains(quote)).then_some(quote)
}

/// The key among those toml's "unknown field `x`, expected one of `a`,
/// `b`" lists that is nearest to `key` (at most two edits away).
fn nearest_key(key: &str, message: &str) -> Option<String> {
    let (_, listed) = message.split_once("expected one of ")?;
    listed
        .split(',')
        .map(|k| k.trim().trim_matches('`'))
        .filter(|k| !k.is_empty())
        .map(|k| (edits(key, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_owned())
}

/// The Levenshtein distance between `a` and `b`.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A key or section name toml takes without quotes.
fn bare(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A value as written, without a trailing `# comment` (one outside quotes).
fn without_comment(value: &str) -> &str {
    let mut quote = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &value[..i],
            _ => {}
        }
    }
    value
}

/// A value short enough to quote in one line.
fn short(value: &str) -> String {
    const MOST: usize = 40;
    match value.char_indices().nth(MOST) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_owned(),
    }
}

/// `span` within `text` and on character boundaries.
fn clamp(text: &str, span: &Range<usize>) -> Range<usize> {
    let fit = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = fit(span.start);
    start..fit(span.end).max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> String {
        let error = toml::from_str::<Config>(text).expect_err("refused");
        explain("/etc/icy/proxy.toml", text, &error)
    }

    /// Real mistakes, and what a user reads for each.
    #[test]
    fn a_table_of_real_mistakes() {
        let p = "/etc/icy/proxy.toml line 2";
        let cases = [
            (
                "[server]\nport = \"x\"\n",
                "(`port = \"x\"`): [server] port must be a whole number from 0 to 65535 (0: any free port), not \"x\"",
            ),
            (
                "[server]\nport = 70000\n",
                "(`port = 70000`): [server] port must be a whole number from 0 to 65535 (0: any free port), not 70000",
            ),
            (
                "[server]\nport = \"8080\"\n",
                "(`port = \"8080\"`): [server] port must be a whole number from 0 to 65535 (0: any free port), without quotes: port = 8080",
            ),
            (
                "[resolver]\ncommand = \"yt-dlp\"\n",
                "(`command = \"yt-dlp\"`): [resolver] command must be a list of strings such as [\"yt-dlp\", …], not \"yt-dlp\"",
            ),
            (
                "[resolver]\ncommand = [1, 2]  # ids\n",
                "(`command = [1, 2]  # ids`): [resolver] command must be a list of strings such as [\"yt-dlp\", …], not [1, 2]",
            ),
            (
                "[server]\nhost = 127.0.0.1\n",
                "(`host = 127.0.0.1`): put the address in quotes: host = \"127.0.0.1\"",
            ),
            (
                "[mpd]\naddress = localhost:6600 # the Pi\n",
                "(`address = localhost:6600 # the Pi`): put the address in quotes: address = \"localhost:6600\"",
            ),
            (
                "[server]\ntoken = abc\n",
                "(`token = abc`): put the text in quotes: token = \"abc\"",
            ),
            (
                "[server]\nhost = 1234\n",
                "(`host = 1234`): [server] host must be text in quotes, not 1234",
            ),
            (
                "[server]\nport =\n",
                "(`port =`): [server] port has no value: give a whole number from 0 to 65535 (0: any free port)",
            ),
            (
                "[playlists]\nsync_minutes = \"30\"\n",
                "(`sync_minutes = \"30\"`): [playlists] sync_minutes must be a number such as 30 or 0.5, without quotes: sync_minutes = 30",
            ),
            (
                "[resolver]\ntimeout_secs = 1e3\n",
                "(`timeout_secs = 1e3`): [resolver] timeout_secs must be a whole number (0 or more), not 1e3",
            ),
            (
                "[upstream]\nretries = -1\n",
                "(`retries = -1`): [upstream] retries must be a whole number (0 or more), not -1",
            ),
            (
                "[server]\nwrkers = 4\n",
                "(`wrkers = 4`): [server] wrkers is not a key: did you mean workers?",
            ),
            (
                "[resolver]\ncookie_file = \"c.txt\"\n",
                "(`cookie_file = \"c.txt\"`): [resolver] cookie_file is not a key: did you mean cookies_file?",
            ),
            (
                "[server]\nhost = \"127.0.0.1\n",
                "(`host = \"127.0.0.1`): close the quotes: host = \"127.0.0.1\"",
            ),
            (
                "[store]\npath = \"x.db\n",
                "(`path = \"x.db`): close the quotes: path = \"x.db\"",
            ),
            (
                "[mpd]\nautoplay = yes\n",
                "(`autoplay = yes`): [mpd] autoplay must be true or false (no quotes), not yes",
            ),
            (
                "[server]\nzzz = 4\n",
                "(`zzz = 4`): unknown field `zzz`, expected one of `host`, `port`, `workers`, `write_timeout_secs`, `token`, `header_timeout_secs`, `idle_timeout_secs`, `max_connections`, `allowed_hosts` (the shipped proxy.toml lists every key, with a comment)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(said(text), format!("{p} {want}"), "{text:?}");
        }
    }

    #[test]
    fn other_places_and_shapes() {
        assert_eq!(
            said("server = 1\n"),
            "/etc/icy/proxy.toml line 1 (`server = 1`): server must be a section: [server] on a line of its own, its keys below, not 1"
        );
        assert_eq!(
            said("[server]\nport = 1\nport = 2\n"),
            "/etc/icy/proxy.toml line 3 (`port = 2`): [server] port is set twice: keep one"
        );
        // Broken syntax with no key to name: toml's words, and the hint.
        assert_eq!(
            said("[server\nport = 1\n"),
            "/etc/icy/proxy.toml line 1 (`[server`): unclosed table, expected `]` (the shipped proxy.toml lists every key, with a comment)"
        );
        assert!(said("[sever]\nport = 1\n").contains("unknown field `sever`"));
    }
}
