//! One call to YouTube Music's web API: `POST {api_url}/youtubei/v1/ENDPOINT`
//! with the web client's context (`WEB_REMIX`), signed in when the call
//! needs the account, over one shared ureq agent with one time limit per
//! call and a bound on what an answer may weigh.

use serde_json::{Map, Value, json};
use ureq::Agent;

use crate::catalog::cookies::Cookies;
use crate::catalog::music::auth::{Account, CONSENT_COOKIE, ORIGIN};
use crate::catalog::music::settings::YoutubeSettings;
use crate::error::{Error, MusicFault, Result};

/// The most an answer may weigh (the largest real ones are a few MB).
pub const ANSWER_LIMIT: u64 = 16 << 20;

/// The web client's name in the context, as music.youtube.com sends it.
const CLIENT_NAME: &str = "WEB_REMIX";

/// A browser's user agent: the API answers other agents with less.
const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The public key music.youtube.com's web client sends with signed-in calls.
const WEB_KEY: &str = "AIzaSyC9XL3ZjWddXya6X74dJoCTL-WEYFDNX30";

/// Whether a call is made for the account or for anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Public music: no cookie of the user's is sent.
    Anyone,
    /// The library, likes, history: needs the cookies, signed.
    Account,
}

/// The API as this process speaks it.
#[derive(Debug, Clone)]
pub struct Api {
    agent: Agent,
    root: String,
    host: String,
    language: String,
    region: String,
    cookies: Option<Cookies>,
}

impl Api {
    /// The API of `[youtube]`, signed in with `cookies` where a call needs it.
    pub fn new(settings: &YoutubeSettings, cookies: Option<Cookies>) -> Api {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout()))
            // The API does not redirect; a redirect is a consent or login
            // page, and must not take the cookies elsewhere.
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .build();
        Api {
            agent: config.new_agent(),
            root: settings.api_url().to_owned(),
            host: settings.api_host(),
            language: settings.language.clone(),
            region: settings.region.clone(),
            cookies,
        }
    }

    /// Whether calls for the account can be made (a jar is set).
    pub fn has_cookies(&self) -> bool {
        self.cookies.is_some()
    }

    /// The user's cookies file, as messages name it.
    pub fn cookies_file(&self) -> Option<String> {
        self.cookies
            .as_ref()
            .map(|c| c.file().display().to_string())
    }

    /// The context every call carries (the client version is derived from
    /// today's date, as the web client's own is).
    pub fn context(&self, unix_secs: i64) -> Value {
        json!({
            "client": {
                "clientName": CLIENT_NAME,
                "clientVersion": client_version(unix_secs),
                "hl": self.language,
                "gl": self.region,
            },
            "user": {},
        })
    }

    /// POSTs `fields` (with the context) to `endpoint`, with `query`
    /// added to the URL; the answer's JSON.
    pub fn call(&self, ask: &Ask<'_>, fields: Map<String, Value>) -> Result<Value> {
        let now = crate::time::unix_now();
        let mut body = fields;
        body.insert("context".into(), self.context(now));
        let mut url = format!(
            "{}/youtubei/v1/{}?alt=json&prettyPrint=false",
            self.root, ask.endpoint
        );
        if ask.who == Who::Account {
            // The web client's own key, which signed-in calls carry.
            url.push_str("&key=");
            url.push_str(WEB_KEY);
        }
        for (key, value) in ask.query {
            url.push('&');
            url.push_str(key);
            url.push('=');
            url.push_str(
                &percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        let fault = |fault| Error::Music {
            call: ask.call.to_owned(),
            fault,
        };
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "*/*")
            .header("Origin", ORIGIN)
            .header("X-Origin", ORIGIN);
        match ask.who {
            Who::Anyone => request = request.header("Cookie", CONSENT_COOKIE),
            Who::Account => {
                let account = self.account().map_err(fault)?;
                request = request
                    .header("Cookie", account.cookie())
                    .header("Authorization", account.authorization(now))
                    .header("X-Goog-AuthUser", "0");
            }
        }
        let bytes = body_bytes(&body);
        let response = request.send(&bytes[..]).map_err(|e| fault(transport(e)))?;
        let answer = read_answer(response).map_err(fault)?;
        self.check_status(ask.who, answer).map_err(fault)
    }

    /// GETs `url` (the history report), signed when it is YouTube's.
    pub fn ping(&self, call: &str, url: &str) -> Result<()> {
        let fault = |fault| Error::Music {
            call: call.to_owned(),
            fault,
        };
        let mut request = self
            .agent
            .get(url)
            .header("Origin", ORIGIN)
            .header("X-Origin", ORIGIN);
        if self.may_sign(url) {
            let account = self.account().map_err(fault)?;
            request = request
                .header("Cookie", account.cookie())
                .header(
                    "Authorization",
                    account.authorization(crate::time::unix_now()),
                )
                .header("X-Goog-AuthUser", "0");
        }
        let response = request.call().map_err(|e| fault(transport(e)))?;
        let answer = read_answer(response).map_err(fault)?;
        match answer.status {
            200..=299 => Ok(()),
            code => Err(fault(MusicFault::Status {
                code,
                message: String::new(),
            })),
        }
    }

    /// Cookies go to the API's host, and to youtube.com's own hosts over
    /// https (where the player's report URL points), never elsewhere.
    fn may_sign(&self, url: &str) -> bool {
        let host = host_of(url);
        let youtube = url.starts_with("https://")
            && (host == "youtube.com" || host.ends_with(".youtube.com"));
        host == self.host || youtube
    }

    /// The account of the jar, read afresh (an export since start counts).
    fn account(&self) -> std::result::Result<Account, MusicFault> {
        let Some(cookies) = &self.cookies else {
            return Err(MusicFault::LoggedOut { cookies: None });
        };
        let logged_out = || MusicFault::LoggedOut {
            cookies: Some(cookies.file().display().to_string()),
        };
        let text = cookies.jar().map_err(|_| logged_out())?;
        Account::from_jar(&text).ok_or_else(logged_out)
    }

    /// An answer's JSON when its status says it is one; YouTube's own
    /// message otherwise.
    fn check_status(&self, who: Who, answer: Answer) -> std::result::Result<Value, MusicFault> {
        let parsed: std::result::Result<Value, _> = serde_json::from_slice(&answer.bytes);
        if answer.status == 200 {
            let value = parsed.map_err(|e| MusicFault::NotJson(e.to_string()))?;
            // A jar that no longer logs in still gets 200, as anyone.
            if who == Who::Account && logged_in(&value) == Some(false) {
                return Err(MusicFault::LoggedOut {
                    cookies: self.cookies_file(),
                });
            }
            return Ok(value);
        }
        let message = parsed
            .ok()
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(|m| m.chars().take(200).collect())
            .unwrap_or_default();
        match (answer.status, who) {
            (401 | 403, Who::Account) => Err(MusicFault::LoggedOut {
                cookies: self.cookies_file(),
            }),
            (code, _) => Err(MusicFault::Status { code, message }),
        }
    }
}

/// What the answer says of the caller's login: `responseContext.
/// serviceTrackingParams[service = GFEEDBACK].params[key = logged_in]`.
fn logged_in(answer: &Value) -> Option<bool> {
    let services = answer.pointer("/responseContext/serviceTrackingParams")?;
    services.as_array()?.iter().find_map(|service| {
        let params = service.get("params")?.as_array()?;
        params.iter().find_map(|p| {
            (p.get("key")?.as_str()? == "logged_in")
                .then(|| p.get("value")?.as_str().map(|v| v == "1"))?
        })
    })
}

/// What a call asks: its name in messages, the endpoint, extra query
/// parameters (continuations of older answers) and for whom.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub call: &'a str,
    pub endpoint: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub who: Who,
}

/// A status and the body, read within [`ANSWER_LIMIT`].
struct Answer {
    status: u16,
    bytes: Vec<u8>,
}

fn read_answer(
    mut response: ureq::http::Response<ureq::Body>,
) -> std::result::Result<Answer, MusicFault> {
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(ANSWER_LIMIT)
        .read_to_vec()
        .map_err(transport)?;
    Ok(Answer { status, bytes })
}

/// A ureq failure in the reader's words.
fn transport(error: ureq::Error) -> MusicFault {
    match error {
        ureq::Error::Timeout(_) => MusicFault::TimedOut,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => MusicFault::TimedOut,
        ureq::Error::BodyExceedsLimit(_) => MusicFault::TooLarge {
            limit: ANSWER_LIMIT,
        },
        other => MusicFault::Unreachable(other.to_string()),
    }
}

fn body_bytes(body: &Map<String, Value>) -> Vec<u8> {
    // A map of JSON values always serializes.
    serde_json::to_vec(body).unwrap_or_default()
}

/// `1.YYYYMMDD.01.00` for the day of `unix_secs` (UTC).
pub fn client_version(unix_secs: i64) -> String {
    let (y, m, d) = crate::time::civil_from_days(unix_secs.div_euclid(86_400));
    format!("1.{y:04}{m:02}{d:02}.01.00")
}

/// The host of an absolute URL, lower case, without a port.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_version_is_todays_date() {
        // 2026-12-07 00:00 UTC.
        let day = crate::time::days_from_civil(2026, 12, 7) * 86_400;
        assert_eq!(client_version(day + 3_600), "1.20261207.01.00");
    }

    #[test]
    fn hosts_are_read_without_ports_or_users() {
        assert_eq!(
            host_of("https://S.YouTube.com/api/stats?x=1"),
            "s.youtube.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(host_of("https://evil.example@youtube.com/"), "youtube.com");
    }
}
