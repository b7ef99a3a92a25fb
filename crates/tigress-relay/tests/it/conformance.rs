//! The conformance vectors of `conformance/vectors` (format: `conformance/README.md`), run in
//! name order against a relay listening on a socket: each step's request is sent as written
//! (header spellings included) and its response checked, status and body, against the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors")
}

/// The values `{name}` stands for in one vector.
struct Vars {
    values: HashMap<String, String>,
}

impl Vars {
    /// `{name}` replaced by its value in `text`; an unknown name is a mistake in the vector.
    fn fill(&self, text: &str, at: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            let name = &rest[start + 1..start + len];
            let value =
                self.values.get(name).unwrap_or_else(|| panic!("{at}: no value {{{name}}}"));
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    fn fill_json(&self, value: &Value, at: &str) -> Value {
        match value {
            Value::String(text) => Value::String(self.fill(text, at)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.fill_json(v, at)).collect())
            }
            Value::Object(members) => Value::Object(
                members.iter().map(|(k, v)| (k.clone(), self.fill_json(v, at))).collect(),
            ),
            other => other.clone(),
        }
    }
}

fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z'
}

/// Compares an answer with what the vector expects; matchers may capture values.
fn check(expected: &Value, actual: &Value, vars: &mut Vars, at: &str) {
    match (expected, actual) {
        (Value::String(want), _) if want.starts_with('$') => matcher(want, actual, vars, at),
        (Value::String(want), Value::String(got)) => {
            assert_eq!(got, &vars.fill(want, at), "{at}");
        }
        (Value::Object(want), Value::Object(got)) => {
            let mut want_keys: Vec<_> = want.keys().collect();
            let mut got_keys: Vec<_> = got.keys().collect();
            want_keys.sort();
            got_keys.sort();
            assert_eq!(got_keys, want_keys, "{at}: the members of {actual}");
            for (key, value) in want {
                check(value, &got[key], vars, &format!("{at}.{key}"));
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            assert_eq!(got.len(), want.len(), "{at}: {actual}");
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                check(w, g, vars, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

fn matcher(want: &str, actual: &Value, vars: &mut Vars, at: &str) {
    let text = actual.as_str();
    if want == "$any" {
        assert!(!actual.is_null(), "{at}: expected a value");
    } else if want == "$timestamp" {
        assert!(text.is_some_and(is_timestamp), "{at}: not an RFC 3339 UTC instant: {actual}");
    } else if let Some(name) = want.strip_prefix("$mailboxUrl:") {
        let url = text.unwrap_or_else(|| panic!("{at}: not a string: {actual}"));
        let base = &vars.values["base"];
        let path = url.strip_prefix(base.as_str()).unwrap_or_else(|| panic!("{at}: {url}"));
        let id = path.strip_prefix("/v1/m/").unwrap_or_else(|| panic!("{at}: {url}"));
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{at}: not a mailbox URL: {url}");
        vars.values.insert(name.to_owned(), path.to_owned());
    } else {
        panic!("{at}: unknown matcher {want}");
    }
}

async fn run_step(relay: &TestRelay, step: &Value, vars: &mut Vars, at: &str) {
    let request = &step["request"];
    let method: Method = request["method"].as_str().expect("method").parse().expect("a method");
    let path = vars.fill(request["path"].as_str().expect("path"), at);
    let mut http = relay.http.request(method, relay.url(&path));
    for (name, value) in request["headers"].as_object().into_iter().flatten() {
        http = http.header(name.as_str(), vars.fill(value.as_str().expect("a header value"), at));
    }
    if let Some(body) = request.get("body") {
        http = http.json(&vars.fill_json(body, at));
    }
    let reply = Reply::from(http.send().await.expect("request sent")).await;

    let expected = &step["response"];
    let status = expected["status"].as_u64().expect("status");
    assert_eq!(u64::from(reply.status.as_u16()), status, "{at}: {}", reply.text);
    for (name, value) in expected["headers"].as_object().into_iter().flatten() {
        let want = value.as_str().expect("a header value");
        match want {
            "$absent" => assert_eq!(reply.header(name), None, "{at}: header {name}"),
            _ => assert_eq!(reply.header(name), Some(vars.fill(want, at).as_str()), "{at}: {name}"),
        }
    }
    let body_checks = ["body", "bodyContains", "bodyEmpty"];
    let named = body_checks.iter().filter(|k| expected.get(**k).is_some()).count();
    assert_eq!(named, 1, "{at}: a response names exactly one of {body_checks:?}");
    if let Some(body) = expected.get("body") {
        check(body, &reply.json(), vars, &format!("{at} body"));
    } else if let Some(parts) = expected.get("bodyContains") {
        for part in parts.as_array().expect("a list") {
            let part = vars.fill(part.as_str().expect("a string"), at);
            assert!(reply.text.contains(&part), "{at}: the answer lacks {part}: {}", reply.text);
        }
        for part in expected["bodyLacks"].as_array().into_iter().flatten() {
            let part = part.as_str().expect("a string");
            assert!(!reply.text.contains(part), "{at}: the answer holds {part}: {}", reply.text);
        }
    } else {
        assert_eq!(expected["bodyEmpty"], true, "{at}");
        assert_eq!(reply.text, "", "{at}: expected an empty body");
    }
}

#[tokio::test]
async fn the_shipped_clients_conversations_get_the_answers_the_vectors_expect() {
    run_vectors(&TestRelay::start().await).await;
}

/// The same conversations through the Redis Cluster store: a deployment of several relays
/// answers them alike.
#[cfg(feature = "redis")]
#[tokio::test]
async fn the_vectors_get_the_same_answers_on_the_redis_cluster_store() {
    let nodes = crate::store_contract::redis_nodes();
    let store = tigress_relay::StoreConfig::RedisCluster { nodes };
    run_vectors(&TestRelay::start_with(|config| config.store = store).await).await;
}

async fn run_vectors(relay: &TestRelay) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("conformance/vectors is readable")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the vectors are missing: {files:?}");
    let mut steps = 0;
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let vector: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        let mut vars = Vars { values: HashMap::from([("base".to_owned(), relay.base())]) };
        for fresh in vector["fresh"].as_array().into_iter().flatten() {
            vars.values.insert(fresh.as_str().unwrap().to_owned(), new_uuid());
        }
        for (i, step) in vector["steps"].as_array().expect("steps").iter().enumerate() {
            run_step(relay, step, &mut vars, &format!("{name} step {}", i + 1)).await;
            steps += 1;
        }
    }
    assert!(steps >= 30, "only {steps} steps ran");
}
