//! The one reader of a Netscape cookie jar (what a browser extension
//! exports and yt-dlp reads and writes): `domain flag path secure expiry
//! name value`, tab-separated; `#HttpOnly_` lines are cookies too; an
//! expiry of 0 is a session cookie. The values are never logged.

/// One cookie of a jar.
#[derive(Clone, PartialEq, Eq)]
pub struct JarCookie {
    /// Without the leading dot.
    pub domain: String,
    pub expiry: i64,
    pub name: String,
    pub value: String,
}

impl std::fmt::Debug for JarCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JarCookie")
            .field("domain", &self.domain)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The login cookies YouTube's session rests on.
pub const LOGIN_COOKIES: [&str; 5] = [
    "LOGIN_INFO",
    "SID",
    "__Secure-1PSID",
    "__Secure-3PSID",
    "SAPISID",
];

/// What a jar says about YouTube's login.
#[derive(Debug, PartialEq, Eq)]
pub enum CookieState {
    NoYouTube,
    /// A login cookie past its expiry (by the jar's own column).
    Expired(String),
    /// This many youtube.com cookies, none of the login ones expired.
    Fine(usize),
}

/// The cookies of `jar`, in its order; lines that are not cookies are
/// left out.
pub fn parse(jar: &str) -> Vec<JarCookie> {
    let mut cookies = Vec::new();
    for line in jar.lines() {
        let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        let [domain, _, _, _, expiry, name, value, ..] = fields[..] else {
            continue;
        };
        cookies.push(JarCookie {
            domain: domain.trim().trim_start_matches('.').to_ascii_lowercase(),
            expiry: expiry.trim().parse().unwrap_or(0),
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    cookies
}

/// Whether `cookie` belongs to youtube.com (or one of its hosts).
pub fn is_youtube(cookie: &JarCookie) -> bool {
    cookie.domain == "youtube.com" || cookie.domain.ends_with(".youtube.com")
}

/// The jar's youtube.com cookies, checked for an expired login.
pub fn youtube_state(jar: &str, now: i64) -> CookieState {
    let mut count = 0;
    for cookie in parse(jar).iter().filter(|c| is_youtube(c)) {
        count += 1;
        let login = LOGIN_COOKIES.contains(&cookie.name.as_str());
        if login && cookie.expiry != 0 && cookie.expiry < now {
            return CookieState::Expired(cookie.name.clone());
        }
    }
    match count {
        0 => CookieState::NoYouTube,
        n => CookieState::Fine(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAR: &str = "# Netscape HTTP Cookie File\n\
        .youtube.com\tTRUE\t/\tTRUE\t0\tSAPISID\tabc/def\n\
        #HttpOnly_.youtube.com\tTRUE\t/\tTRUE\t2000000000\tSID\tsid\n\
        .google.com\tTRUE\t/\tTRUE\t0\tNID\tx\n\
        music.youtube.com\tFALSE\t/\tFALSE\t0\tPREF\tf6=8\r\n\
        broken line\n";

    #[test]
    fn cookies_are_read_with_their_domain() {
        let cookies = parse(JAR);
        let names: Vec<_> = cookies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["SAPISID", "SID", "NID", "PREF"]);
        assert_eq!(cookies[0].value, "abc/def");
        assert_eq!(cookies[3].value, "f6=8", "a CRLF jar keeps clean values");
        let youtube: Vec<_> = cookies.iter().filter(|c| is_youtube(c)).collect();
        assert_eq!(youtube.len(), 3);
    }

    #[test]
    fn an_expired_login_cookie_is_named() {
        assert_eq!(youtube_state(JAR, 1_000), CookieState::Fine(3));
        assert_eq!(
            youtube_state(JAR, 2_000_000_001),
            CookieState::Expired("SID".into())
        );
        assert_eq!(youtube_state("# empty\n", 0), CookieState::NoYouTube);
    }
}
