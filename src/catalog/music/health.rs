//! How the reader has fared lately, for `/health` and the log: a failure
//! streak is said once (with the JSON path where the shape differed), and
//! its end once.

use std::sync::Mutex;

use crate::error::Error;

/// The reader's record, shared by every thread that calls it.
#[derive(Debug, Default)]
pub struct ReaderHealth {
    state: Mutex<State>,
}

/// What `/health` shows as `"reader"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The last call answered (or none was made yet).
    pub ok: bool,
    /// The last failure, in words.
    pub last_failure: Option<String>,
    /// When it was (Unix seconds).
    pub at: Option<i64>,
    /// Calls made, and those that failed.
    pub calls: u64,
    pub failures: u64,
    /// Calls made instead through yt-dlp.
    pub fallbacks: u64,
    /// The last failure and what was done instead, as the log says it.
    pub last_fallback: Option<String>,
}

impl ReaderHealth {
    pub fn new() -> ReaderHealth {
        ReaderHealth {
            state: Mutex::new(State {
                ok: true,
                ..State::default()
            }),
        }
    }

    /// A call answered: a streak of failures ends (said once).
    pub fn answered(&self) {
        let mut state = self.lock();
        state.calls += 1;
        if !state.ok {
            log::info!("YouTube Music's API answers again");
        }
        state.ok = true;
    }

    /// A call failed; `fallback` is what is done instead ("through
    /// yt-dlp"), when anything is. The first failure of a streak is
    /// logged at warn, the rest at debug.
    pub fn failed(&self, error: &Error, fallback: Option<&str>) {
        let mut state = self.lock();
        state.calls += 1;
        state.failures += 1;
        if fallback.is_some() {
            state.fallbacks += 1;
        }
        let said = match fallback {
            Some(instead) => format!("{error}; {instead}"),
            None => error.to_string(),
        };
        if fallback.is_some() {
            state.last_fallback = Some(said.clone());
        }
        match state.ok {
            true => log::warn!("{said} (said once until it answers again)"),
            false => log::debug!("{said}"),
        }
        state.ok = false;
        state.last_failure = Some(error.to_string());
        state.at = Some(crate::time::unix_now());
    }

    pub fn state(&self) -> State {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("reader health lock poisoned")
    }
}
