//! Lists that go on past one answer: the first answer's list and its
//! continuation token, then one request per page until the caller has
//! enough or the list ends. Both generations of continuation are read:
//! the older `continuations[0].next…ContinuationData.continuation` (sent
//! back as `ctoken`/`continuation` query parameters) and the newer
//! trailing `continuationItemRenderer` (sent back in the body).

use serde_json::{Map, Value, json};

use crate::catalog::music::client::{Api, Ask, Who};
use crate::catalog::music::json::{self, get, text};
use crate::error::Result;

/// Pages read for one list at most, first included: a radio is endless,
/// and a library of 5,000 playlists is 200 pages.
pub const MAX_PAGES: usize = 200;

/// One page of a list: its items, and how to ask for the next.
#[derive(Debug, Default)]
pub struct Page<'a> {
    pub items: &'a [Value],
    pub next: Option<Next>,
}

/// How the next page is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// `?ctoken=T&continuation=T`, the body as it was.
    Query(String),
    /// `"continuation": T` in the body.
    Body(String),
}

/// The token of an older-generation list (`continuations` beside its
/// `contents`), of any kind (`nextContinuationData`,
/// `nextRadioContinuationData`, …).
pub fn query_token(list: &Value) -> Option<Next> {
    let first = get(list, "continuations.0")?.as_object()?;
    first
        .values()
        .find_map(|data| text(data, "continuation"))
        .map(|t| Next::Query(t.to_owned()))
}

/// A newer-generation list's items without its trailing
/// `continuationItemRenderer`, and that token.
pub fn split_trailing(items: &[Value]) -> (&[Value], Option<Next>) {
    match items.split_last() {
        Some((last, rest)) if last.get("continuationItemRenderer").is_some() => {
            let token = text(
                last,
                "continuationItemRenderer.continuationEndpoint.continuationCommand.token",
            );
            (rest, token.map(|t| Next::Body(t.to_owned())))
        }
        _ => (items, None),
    }
}

/// The items and next token of a continuation answer, whichever
/// generation: `continuationContents.KIND.contents` or
/// `onResponseReceivedActions[0].appendContinuationItemsAction.continuationItems`.
pub fn continued(answer: &Value) -> Page<'_> {
    if let Some((_, list)) = get(answer, "continuationContents").and_then(json::only_key) {
        let (items, trailing) = split_trailing(json::items(list, "contents"));
        return Page {
            items,
            next: query_token(list).or(trailing),
        };
    }
    for action in json::items(answer, "onResponseReceivedActions") {
        let found = get(action, "appendContinuationItemsAction.continuationItems")
            .or_else(|| get(action, "reloadContinuationItemsCommand.continuationItems"));
        if let Some(items) = found.and_then(Value::as_array) {
            let (items, next) = split_trailing(items);
            return Page { items, next };
        }
    }
    Page::default()
}

/// Reads a list from `first` (the answer to `ask` with `fields`) on
/// through its continuations, reading each item with `read` (`None`
/// leaves it out) until `limit` items, the list's end or [`MAX_PAGES`].
/// `first_page` finds the first answer's list.
pub fn collect<T>(
    api: &Api,
    ask: &Ask<'_>,
    fields: &Map<String, Value>,
    first_page: impl for<'a> FnOnce(&'a Value) -> Result<Page<'a>>,
    mut read: impl FnMut(&Value) -> Option<T>,
    limit: usize,
) -> Result<Vec<T>> {
    let first = api.call(ask, fields.clone())?;
    let mut page = first_page(&first)?;
    let mut found = Vec::new();
    let mut answer;
    for _ in 0..MAX_PAGES {
        found.extend(page.items.iter().filter_map(&mut read));
        if found.len() >= limit {
            break;
        }
        let Some(next) = page.next.take() else {
            break;
        };
        answer = match &next {
            Next::Query(token) => {
                let query = [("ctoken", token.as_str()), ("continuation", token.as_str())];
                api.call(
                    &Ask {
                        query: &query,
                        ..*ask
                    },
                    fields.clone(),
                )?
            }
            Next::Body(token) => {
                let mut body = fields.clone();
                body.insert("continuation".into(), json!(token));
                api.call(ask, body)?
            }
        };
        page = continued(&answer);
        if page.items.is_empty() {
            break;
        }
    }
    found.truncate(limit);
    Ok(found)
}

/// For calls that take no continuation: `Who` is part of every ask.
pub fn ask<'a>(call: &'a str, endpoint: &'a str, who: Who) -> Ask<'a> {
    Ask {
        call,
        endpoint,
        query: &[],
        who,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_generations_of_tokens_are_read() {
        let old = json!({"contents": [1], "continuations": [{"nextRadioContinuationData": {"continuation": "R"}}]});
        assert_eq!(query_token(&old), Some(Next::Query("R".into())));
        let items = vec![
            json!({"a": 1}),
            json!({"continuationItemRenderer": {"continuationEndpoint": {"continuationCommand": {"token": "B"}}}}),
        ];
        let (rest, next) = split_trailing(&items);
        assert_eq!((rest.len(), next), (1, Some(Next::Body("B".into()))));
    }

    #[test]
    fn continuation_answers_of_either_shape() {
        let old = json!({"continuationContents": {"musicShelfContinuation": {
            "contents": [{"x": 1}, {"x": 2}],
            "continuations": [{"nextContinuationData": {"continuation": "N"}}]}}});
        let page = continued(&old);
        assert_eq!(
            (page.items.len(), page.next),
            (2, Some(Next::Query("N".into())))
        );
        let new = json!({"onResponseReceivedActions": [{"appendContinuationItemsAction": {
            "continuationItems": [{"x": 1}]}}]});
        let page = continued(&new);
        assert_eq!((page.items.len(), page.next), (1, None));
        assert!(continued(&json!({})).items.is_empty());
    }
}
