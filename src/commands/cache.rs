//! `cache`: what the audio cache holds (its size, songs and hit rate),
//! `cache remove ID` and `cache clear`. Nothing is removed but what is
//! asked; a server running meanwhile sees the change at its next lookup.

use std::io::Write;
use std::sync::Arc;

use super::shared::{count, open_store, parse_id, say, write_all};
use crate::catalog::store::TrackStore;
use crate::catalog::store::open::Need;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::stream::cache::settings::MB;
use crate::stream::cache::{self, AudioCache};
use crate::video_id::VideoId;

fn cache_of(config: &Config) -> AudioCache {
    AudioCache::open(&config.cache, Arc::new(Metrics::default()))
}

/// MiB with one decimal, as `/health` shows them.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / MB as f64)
}

/// `cache`: `key<TAB>value` lines: where, how much, how often it served.
pub fn summary(config: &Config, out: &mut dyn Write) -> Result<()> {
    let cache = cache_of(config);
    let store = open_store(config, Need::Read)?;
    let totals = cache.totals(&store)?;
    let free = cache::free_bytes(cache.dir()).map_or_else(|e| format!("unknown ({e})"), mb);
    let state = match cache.on() {
        true => format!(
            "on, at most {}, keeping {} free",
            mb(cache.max_bytes()),
            mb(cache.min_free_bytes())
        ),
        false => "off ([cache] max_mb = 0)".to_owned(),
    };
    let plays = totals.hits + totals.misses;
    let rate = match plays {
        0 => "no plays yet".to_owned(),
        n => format!(
            "{:.0}% of {}",
            totals.hits as f64 * 100.0 / n as f64,
            count(n as usize, "play", "plays")
        ),
    };
    let text = format!(
        "cache\t{state}\ndir\t{} ({free} free)\nsongs\t{}\nsize\t{}\nhits\t{}\nmisses\t{}\nhit rate\t{rate}\n",
        cache.dir().display(),
        totals.entries,
        mb(totals.bytes),
        totals.hits,
        totals.misses,
    );
    write_all(out, &text)
}

/// `cache remove ID`: one kept song, entry and file.
pub fn remove(config: &Config, id: &str, out: &mut dyn Write) -> Result<()> {
    let id = parse_id(id)?;
    let mut store = open_store(config, Need::Existing)?;
    if !cache_of(config).forget(id.as_str(), &mut store) {
        return Err(Error::NotFound(format!("no kept song with video id {id}")));
    }
    say(out, &format!("removed {id} from the cache"))
}

/// Forgets the kept song `id`, if there is one (for `remove`).
pub(super) fn forget(config: &Config, id: &VideoId, store: &mut TrackStore) -> bool {
    cache_of(config).forget(id.as_str(), store)
}

/// `cache clear`: every kept song.
pub fn clear(config: &Config, out: &mut dyn Write) -> Result<()> {
    let mut store = open_store(config, Need::Existing)?;
    let (n, bytes) = cache_of(config).clear(&mut store);
    say(
        out,
        &format!("removed {} ({})", count(n, "song", "songs"), mb(bytes)),
    )
}
