//! Signing in to YouTube Music's web API with the user's cookie jar, as
//! the web client does: the jar's youtube.com cookies as `Cookie`, and
//! `Authorization: SAPISIDHASH TS_HASH` with `HASH = sha1("TS SAPISID
//! ORIGIN")` in hex (read in ytmusicapi's `helpers.get_authorization`).
//! Without a jar, only the consent cookie is sent.

use crate::catalog::jar::{self, JarCookie};

/// The site the web client runs on: the origin the hash is made for.
pub const ORIGIN: &str = "https://music.youtube.com";

/// The consent cookie an anonymous client sends, so that YouTube answers
/// instead of redirecting to its consent page (ytmusicapi's `SOCS=CAI`).
pub const CONSENT_COOKIE: &str = "SOCS=CAI";

/// What a signed-in request carries: the `Cookie` header and the SAPISID
/// the hash is made from. Never logged.
#[derive(Clone)]
pub struct Account {
    cookie: String,
    sapisid: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Account(***)")
    }
}

impl Account {
    /// The account of a jar's text, or `None` when it has no `SAPISID`
    /// (nor `__Secure-3PAPISID`): such a jar cannot sign in.
    pub fn from_jar(text: &str) -> Option<Account> {
        let cookies: Vec<JarCookie> = jar::parse(text)
            .into_iter()
            .filter(jar::is_youtube)
            .filter(|c| header_safe(&c.name) && header_safe(&c.value))
            .collect();
        let named = |name: &str| {
            cookies
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.value.clone())
        };
        let sapisid = named("SAPISID").or_else(|| named("__Secure-3PAPISID"))?;
        let mut seen = std::collections::HashSet::new();
        let cookie = cookies
            .iter()
            .filter(|c| seen.insert(c.name.as_str()))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ");
        Some(Account { cookie, sapisid })
    }

    /// The `Cookie` header's value.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// The `Authorization` header's value at `unix_secs`.
    pub fn authorization(&self, unix_secs: i64) -> String {
        sapisid_hash(&self.sapisid, unix_secs)
    }
}

/// `SAPISIDHASH TS_SHA1("TS SAPISID ORIGIN")`.
pub fn sapisid_hash(sapisid: &str, unix_secs: i64) -> String {
    let digest = sha1_smol::Sha1::from(format!("{unix_secs} {sapisid} {ORIGIN}"))
        .digest()
        .to_string();
    format!("SAPISIDHASH {unix_secs}_{digest}")
}

/// Whether `text` can go in a header as it is (no line breaks, no `;`
/// that would split a cookie, printable ASCII).
fn header_safe(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAR: &str = "# Netscape HTTP Cookie File\n\
        .youtube.com\tTRUE\t/\tTRUE\t0\tSAPISID\tsap/isid\n\
        .youtube.com\tTRUE\t/\tTRUE\t0\tSID\tsid\n\
        .google.com\tTRUE\t/\tTRUE\t0\tSAPISID\tgoogle-one\n\
        .youtube.com\tTRUE\t/\tTRUE\t0\tBAD\tva;lue\n";

    #[test]
    fn the_hash_is_sha1_of_time_sapisid_and_origin() {
        // sha1("1700000000 abc https://music.youtube.com"), by Python's hashlib.
        assert_eq!(
            sapisid_hash("abc", 1_700_000_000),
            "SAPISIDHASH 1700000000_2f3ec011e870f3fbd0238c090c2062c208cead32"
        );
    }

    #[test]
    fn only_youtube_cookies_go_in_the_header() {
        let account = Account::from_jar(JAR).expect("has SAPISID");
        assert_eq!(account.cookie(), "SAPISID=sap/isid; SID=sid");
        assert!(account.authorization(5).starts_with("SAPISIDHASH 5_"));
        assert_eq!(format!("{account:?}"), "Account(***)");
    }

    #[test]
    fn a_jar_without_sapisid_cannot_sign_in() {
        let jar = ".youtube.com\tTRUE\t/\tTRUE\t0\tSID\tsid\n";
        assert!(Account::from_jar(jar).is_none());
        let jar3p = ".youtube.com\tTRUE\t/\tTRUE\t0\t__Secure-3PAPISID\tp3\n";
        let account = Account::from_jar(jar3p).expect("3PAPISID does");
        assert_eq!(account.sapisid, "p3");
    }
}
