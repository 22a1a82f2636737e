//! Walking YouTube Music's answers: dotted paths (`a.b.0.c`) into
//! `serde_json::Value`, with the place where an answer left the expected
//! shape said in words ("no musicShelfRenderer under contents.…"), since
//! those shapes drift and a log line must say where.

use serde_json::Value;

/// The value at `path` under `value`, if every step is there. A step is a
/// key, or an index into an array.
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, step)
}

fn step<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// The value at `path`, or the first step that is missing, said as
/// "no STEP under PATH-SO-FAR" (`under` names where `value` itself is).
pub fn need<'a>(value: &'a Value, under: &str, path: &str) -> Result<&'a Value, String> {
    let mut at = value;
    let mut walked = under.to_owned();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        match step(at, key) {
            Some(next) => at = next,
            None => {
                let place = if walked.is_empty() {
                    "the answer's top".to_owned()
                } else {
                    walked
                };
                return Err(format!("no {key} under {place}"));
            }
        }
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
    }
    Ok(at)
}

/// The text at `path`.
pub fn text<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

/// The items of the array at `path` (none when it is missing).
pub fn items<'a>(value: &'a Value, path: &str) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The `runs` of a text object (`{"runs": [{"text": …}, …]}`).
pub fn runs<'a>(value: &'a Value, path: &str) -> &'a [Value] {
    match path.is_empty() {
        true => items(value, "runs"),
        false => get(value, path).map_or(&[], |v| items(v, "runs")),
    }
}

/// A text object's runs joined (`{"runs": […]}` or `{"simpleText": …}`).
pub fn joined(value: &Value, path: &str) -> Option<String> {
    let at = get(value, path)?;
    if let Some(simple) = at.get("simpleText").and_then(Value::as_str) {
        return Some(simple.to_owned());
    }
    let runs = at.get("runs")?.as_array()?;
    let text: String = runs
        .iter()
        .filter_map(|r| r.get("text").and_then(Value::as_str))
        .collect();
    Some(text)
}

/// The first key of `value`'s object (how a renderer's name is read:
/// `{"musicShelfRenderer": {…}}`), with its value.
pub fn only_key(value: &Value) -> Option<(&str, &Value)> {
    value
        .as_object()
        .and_then(|m| m.iter().next())
        .map(|(k, v)| (k.as_str(), v))
}

/// The first value of `key` anywhere under `value`, depth first: for
/// tokens whose place differs between answers of one call.
pub fn find<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    find_within(value, key, 0)
}

fn find_within<'a>(value: &'a Value, key: &str, depth: usize) -> Option<&'a Value> {
    // Answers nest a few dozen levels; a hostile one cannot recurse us away.
    if depth > 64 {
        return None;
    }
    match value {
        Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|v| find_within(v, key, depth + 1))),
        Value::Array(items) => items.iter().find_map(|v| find_within(v, key, depth + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_walk_keys_and_indexes() {
        let v = json!({"a": {"b": [{"c": "x"}, {"c": "y"}]}});
        assert_eq!(text(&v, "a.b.1.c"), Some("y"));
        assert_eq!(get(&v, "a.b.2"), None);
        assert_eq!(get(&v, "a.b.c"), None);
        assert_eq!(items(&v, "a.b").len(), 2);
        assert!(items(&v, "a.nothing").is_empty());
    }

    #[test]
    fn a_missing_step_is_said_with_the_path_so_far() {
        let v = json!({"contents": {"tabbedSearchResultsRenderer": {"tabs": []}}});
        let err = need(
            &v,
            "",
            "contents.tabbedSearchResultsRenderer.tabs.0.tabRenderer",
        )
        .expect_err("no tab");
        assert_eq!(err, "no 0 under contents.tabbedSearchResultsRenderer.tabs");
        let err = need(&json!({}), "", "contents").expect_err("empty");
        assert_eq!(err, "no contents under the answer's top");
        let err = need(&v, "item", "x").expect_err("under a name");
        assert_eq!(err, "no x under item");
    }

    #[test]
    fn text_objects_join_their_runs() {
        let v = json!({"t": {"runs": [{"text": "Daft"}, {"text": " Punk"}]}, "s": {"simpleText": "3:45"}});
        assert_eq!(joined(&v, "t").as_deref(), Some("Daft Punk"));
        assert_eq!(joined(&v, "s").as_deref(), Some("3:45"));
        assert_eq!(runs(&v, "t").len(), 2);
        assert_eq!(only_key(&v).map(|(k, _)| k), Some("s"));
    }

    #[test]
    fn find_goes_deep_but_not_forever() {
        let v = json!({"a": [{"b": 1}, {"c": {"token": "T"}}]});
        assert_eq!(find(&v, "token"), Some(&json!("T")));
        let mut deep = json!("end");
        for _ in 0..200 {
            deep = json!({ "x": deep });
        }
        assert_eq!(find(&deep, "token"), None);
    }
}
