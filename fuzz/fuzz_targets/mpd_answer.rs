//! What a hostile or broken MPD may send: any bytes, read as an answer
//! within its budget, never panic, never hold more than the budget, and
//! the pairs they give go through the status and queue parsers.
#![no_main]

use icyproxy::mpd::protocol::{self, Budget};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = protocol::parse_greeting(&String::from_utf8_lossy(data));
    for budget in [Budget::COMMAND, Budget::IDLE] {
        let Some(Ok(Ok(pairs))) = protocol::parse_answer(data, budget) else {
            continue;
        };
        let held: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 3).sum();
        assert!(held as u64 <= budget.max_line());
        let _ = protocol::parse_status(&pairs);
        let _ = protocol::parse_entries(&pairs);
    }
});
