//! At most so many calls to YouTube in any 60 s, for what any LAN client
//! may ask (MPD's default has no password, and each call costs the
//! owner's cookies): the MPD channel's commands, a front-door connection's
//! reads.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use log::warn;

const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct MinuteBudget {
    per_minute: usize,
    /// The key that sets it, named in the refusal.
    key: &'static str,
    spent: VecDeque<Instant>,
    /// The refusal of this streak was said at warn.
    said: bool,
}

impl MinuteBudget {
    pub fn new(per_minute: usize, key: &'static str) -> MinuteBudget {
        MinuteBudget {
            per_minute,
            key,
            spent: VecDeque::new(),
            said: false,
        }
    }

    /// Takes one call at `now`, if the last minute left room for it.
    pub fn take(&mut self, now: Instant) -> bool {
        while self
            .spent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= MINUTE)
        {
            self.spent.pop_front();
        }
        if self.spent.len() >= self.per_minute {
            return false;
        }
        self.spent.push_back(now);
        self.said = false;
        true
    }

    /// Says a refusal of `what` by `who`: the first of a streak at warn,
    /// the rest at debug. The words, to answer with.
    pub fn refused(&mut self, who: &str, what: &str) -> String {
        let why = format!(
            "more than {} commands reaching YouTube in a minute ({}): {what}",
            self.per_minute, self.key
        );
        match std::mem::replace(&mut self.said, true) {
            false => warn!("{who}: {why}"),
            true => log::debug!("{who}: {why}"),
        }
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_so_many_a_minute() {
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let mut budget = MinuteBudget::new(2, "[x] y");
        assert!(budget.take(at(0)) && budget.take(at(10)));
        assert!(!budget.take(at(59)), "a third within the minute");
        assert!(budget.take(at(60)), "the first is a minute old");
        assert!(!budget.take(at(65)));
        assert!(budget.take(at(70)));
        let mut none = MinuteBudget::new(0, "[x] y");
        assert!(!none.take(at(0)) && !none.take(at(3600)));
        assert!(budget.refused("t", "z").contains("([x] y): z"));
    }
}
