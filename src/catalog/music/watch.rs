//! `next`: the queue the player shows beside a song, which is how a
//! song's radio (`RDAMVM` + its id) and a mix (`RDTMAK…`, `RDCLAK…`) are
//! read, on through `nextRadioContinuationData` (a radio never ends: the
//! caller's limit does).

use serde_json::{Map, Value, json};

use crate::catalog::model::ListedTrack;
use crate::catalog::music::client::{Api, Who};
use crate::catalog::music::json;
use crate::catalog::music::pages::{self, Page};
use crate::catalog::music::rows;
use crate::error::{Error, MusicFault, Result};
use crate::video_id::VideoId;

/// Where the queue is in a `next` answer.
const PANEL: &str = "contents.singleColumnMusicWatchNextResultsRenderer.tabbedRenderer.\
                     watchNextTabbedResultsRenderer.tabs.0.tabRenderer.content.\
                     musicQueueRenderer.content.playlistPanelRenderer";

/// The radio of `seed`: its queue, seed first as YouTube lists it, up to
/// `limit` songs.
pub fn radio(api: &Api, seed: &VideoId, limit: usize) -> Result<Vec<ListedTrack>> {
    let mut fields = base_fields();
    fields.insert("videoId".into(), json!(seed.as_str()));
    fields.insert("playlistId".into(), json!(format!("RDAMVM{seed}")));
    fields.insert(
        "watchEndpointMusicSupportedConfigs".into(),
        json!({"watchEndpointMusicConfig": {
            "hasPersistentPlaylistPanel": true,
            "musicVideoType": "MUSIC_VIDEO_TYPE_ATV",
        }}),
    );
    queue(api, "radio", fields, limit, Who::Anyone)
}

/// The songs of a mix or any playlist played as a queue (`RDTMAK…`):
/// the account's own mixes need `who` = the account.
pub fn playlist_queue(
    api: &Api,
    playlist_id: &str,
    limit: usize,
    who: Who,
) -> Result<Vec<ListedTrack>> {
    let mut fields = base_fields();
    fields.insert(
        "playlistId".into(),
        json!(playlist_id.trim_start_matches("VL")),
    );
    queue(api, "mix", fields, limit, who)
}

fn base_fields() -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("enablePersistentPlaylistPanel".into(), json!(true));
    fields.insert("isAudioOnly".into(), json!(true));
    fields.insert("tunerSettingValue".into(), json!("AUTOMIX_SETTING_NORMAL"));
    fields
}

fn queue(
    api: &Api,
    call: &'static str,
    fields: Map<String, Value>,
    limit: usize,
    who: Who,
) -> Result<Vec<ListedTrack>> {
    let ask = pages::ask(call, "next", who);
    let mut shaped = 0usize;
    let songs = pages::collect(
        api,
        &ask,
        &fields,
        |answer| first_page(call, answer),
        |item| {
            shaped += 1;
            rows::queue_song(item)
        },
        limit,
    )?;
    if songs.is_empty() && shaped > 0 {
        return Err(shape(
            call,
            format!(
                "{shaped} items, none a playable playlistPanelVideoRenderer under {PANEL}.contents"
            ),
        ));
    }
    Ok(songs)
}

pub fn first_page<'a>(call: &str, answer: &'a Value) -> Result<Page<'a>> {
    let panel = json::need(answer, "", PANEL).map_err(|p| shape(call, p))?;
    Ok(Page {
        items: json::items(panel, "contents"),
        next: pages::query_token(panel),
    })
}

fn shape(call: &str, path: String) -> Error {
    Error::Music {
        call: call.into(),
        fault: MusicFault::Shape(path),
    }
}
