//! A client's command line split into words, as MPD's tokenizer does: the
//! command name, then arguments that are either unquoted words or
//! `"double-quoted"` strings in which `\` escapes the next character.
//! Pure; the front door reads a command's words only to decide whether it
//! answers it itself, and relays every other line unchanged.

/// Why a line does not split (MPD's own wording, for the `ACK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine(pub &'static str);

/// The most arguments a line may carry (MPD's `COMMAND_ARGV_MAX`).
pub const MAX_ARGS: usize = 4096;

/// The words of `line` (without its `\n`): the command name first. An
/// empty line gives no words.
pub fn split(line: &str) -> Result<Vec<String>, BadLine> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        if words.len() > MAX_ARGS {
            return Err(BadLine("Too many arguments"));
        }
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(BadLine("Missing closing '\"'")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => word.push(c),
                        None => return Err(BadLine("Missing closing '\"'")),
                    },
                    Some(c) => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| *c != ' ' && *c != '\t') {
                return Err(BadLine("Space expected after closing '\"'"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ' && *c != '\t') {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).expect("splits")
    }

    #[test]
    fn unquoted_and_quoted_words() {
        assert_eq!(words("status"), ["status"]);
        assert_eq!(
            words("  lsinfo\t\"YouTube Music/Liked songs\" "),
            ["lsinfo", "YouTube Music/Liked songs"]
        );
        assert_eq!(
            words(r#"search any "say \"hi\" \\ ok""#),
            ["search", "any", r#"say "hi" \ ok"#]
        );
        assert_eq!(words(r#"add """#), ["add", ""]);
        assert!(words("").is_empty());
    }

    #[test]
    fn bad_quotes_are_named_as_mpd_names_them() {
        assert_eq!(split(r#"add "open"#), Err(BadLine("Missing closing '\"'")));
        assert_eq!(split(r#"add "x\"#), Err(BadLine("Missing closing '\"'")));
        assert_eq!(
            split(r#"add "x"y"#),
            Err(BadLine("Space expected after closing '\"'"))
        );
        let many = format!("x{}", " a".repeat(MAX_ARGS + 1));
        assert_eq!(split(&many), Err(BadLine("Too many arguments")));
    }
}
