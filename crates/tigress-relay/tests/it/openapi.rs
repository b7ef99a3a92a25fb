//! `/openapi.json` describes what the handlers really accept and answer: every operation is there,
//! and real responses of many kinds have documented statuses and bodies that fit their schemas.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// A small validator for the JSON Schema subset the document uses: `$ref`, `type`, `required`,
/// `properties`, `oneOf`/`anyOf`.
fn fits(value: &Value, schema: &Value, doc: &Value) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        let target = doc.pointer(pointer).ok_or_else(|| format!("dangling {reference}"))?;
        return fits(value, target, doc);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            if options.iter().any(|option| fits(value, option, doc).is_ok()) {
                return Ok(());
            }
            return Err(format!("{value} fits none of {key}"));
        }
    }
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let integer_ok = actual == "number" && kinds.contains(&"integer");
        if !kinds.contains(&actual) && !integer_ok {
            return Err(format!("{value} is {actual}, schema wants {kinds:?}"));
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if value.get(name).is_none() {
                return Err(format!("{value} lacks required {name}"));
            }
        }
    }
    if let (Some(properties), Some(object)) =
        (schema.get("properties").and_then(Value::as_object), value.as_object())
    {
        for (name, member) in object {
            if let Some(member_schema) = properties.get(name) {
                fits(member, member_schema, doc).map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn documents_every_operation_of_the_v1_api() {
    let relay = TestRelay::start().await;
    let doc: Value =
        relay.http.get(relay.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let expected = [
        ("/v1/m", "post", vec!["200", "201", "400", "401", "413"]),
        ("/v1/m/{id}", "get", vec!["200", "404"]),
        ("/v1/m/{id}", "post", vec!["200", "401", "404"]),
        ("/v1/m/{id}", "put", vec!["200", "201", "400", "401", "404", "409", "413"]),
        ("/v1/m/{id}", "delete", vec!["200", "401", "404"]),
        ("/v1/m/{id}", "patch", vec!["200", "201", "401", "404"]),
        ("/healthz", "get", vec!["200"]),
        ("/openapi.json", "get", vec!["200"]),
    ];
    for (path, method, statuses) in expected {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        for status in statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
    let create = &doc["paths"]["/v1/m"]["post"];
    let headers: Vec<&str> = create["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(headers.contains(&"Mailbox-Device-Claim") && headers.contains(&"Mailbox-Request-ID"));
    let preview = &doc["paths"]["/v1/m/{id}"]["get"]["responses"]["200"]["content"];
    assert!(preview["text/html"].is_object() && preview["application/json"].is_object());
}

#[tokio::test]
async fn real_responses_have_documented_statuses_and_fit_their_schemas() {
    let relay = TestRelay::start().await;
    let doc: Value =
        relay.http.get(relay.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let sender = new_uuid();
    let created =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some("r1"), Some(&create_body())).await;
    let path = mailbox_path(&created);
    let receiver = new_uuid();
    let update = json!({"payload": payload("AAAA")});
    let huge = json!({"payload": payload(&"A".repeat(70_000))});

    let mut samples: Vec<(&str, &str, Reply)> = vec![("/v1/m", "post", created)];
    samples.push((
        "/v1/m",
        "post",
        relay.send(Method::POST, "/v1/m", Some(&sender), Some("r1"), Some(&create_body())).await,
    ));
    samples.push((
        "/v1/m",
        "post",
        relay.send(Method::POST, "/v1/m", None, None, Some(&create_body())).await,
    ));
    samples.push((
        "/v1/m",
        "post",
        relay.send(Method::POST, "/v1/m", Some("x"), None, Some(&create_body())).await,
    ));
    samples.push((
        "/v1/m",
        "post",
        relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&huge)).await,
    ));
    samples.push((
        "/v1/m",
        "post",
        relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&json!({}))).await,
    ));
    let preview =
        relay.http.get(relay.url(&path)).header("accept", "application/json").send().await.unwrap();
    samples.push(("/v1/m/{id}", "get", Reply::from(preview).await));
    samples.push((
        "/v1/m/{id}",
        "get",
        relay
            .send(Method::GET, "/v1/m/00000000-0000-4000-8000-000000000000", None, None, None)
            .await,
    ));
    samples.push((
        "/v1/m/{id}",
        "post",
        relay.send(Method::POST, &path, Some(&receiver), None, None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "post",
        relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "post",
        relay
            .send(Method::POST, &path, Some(&sender), None, Some(&json!({"notificationToken": 5})))
            .await,
    ));
    samples.push((
        "/v1/m/{id}",
        "put",
        relay.send(Method::PUT, &path, Some(&sender), Some("u1"), Some(&update)).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "put",
        relay.send(Method::PUT, &path, Some(&sender), Some("u1"), Some(&update)).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "put",
        relay.send(Method::PUT, &path, Some(&receiver), None, Some(&update)).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "put",
        relay.send(Method::PUT, &path, None, None, Some(&update)).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "put",
        relay.send(Method::PUT, &path, Some(&sender), None, Some(&huge)).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "patch",
        relay.send(Method::PATCH, &path, Some(&receiver), Some("p1"), None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "patch",
        relay.send(Method::PATCH, &path, Some(&receiver), Some("p1"), None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "patch",
        relay.send(Method::PATCH, &path, Some(&sender), None, None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "patch",
        relay.send(Method::PATCH, &path, Some(&sender), Some("bad id with spaces"), None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "delete",
        relay.send(Method::DELETE, &path, Some(&receiver), None, None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "delete",
        relay.send(Method::DELETE, &path, Some(&sender), None, None).await,
    ));
    samples.push((
        "/v1/m/{id}",
        "delete",
        relay.send(Method::DELETE, &path, Some(&sender), None, None).await,
    ));
    samples.push(("/healthz", "get", relay.send(Method::GET, "/healthz", None, None, None).await));

    let mut seen = std::collections::BTreeSet::new();
    for (path, method, reply) in samples {
        let status = reply.status.as_u16().to_string();
        seen.insert(format!("{method} {path} {status}"));
        let documented = &doc["paths"][path][method]["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, which is not documented: {}",
            reply.text
        );
        match documented["content"]["application/json"]["schema"].as_object() {
            Some(_) if reply.header("content-type") == Some("application/json") => {
                let schema = &documented["content"]["application/json"]["schema"];
                fits(&reply.json(), schema, &doc)
                    .unwrap_or_else(|e| panic!("{method} {path} {status}: {e}"));
            }
            _ => assert!(
                reply.text.is_empty() || reply.status == StatusCode::OK,
                "{method} {path} {status} has an undocumented body"
            ),
        }
    }
    // The samples reached the statuses that matter, so the check above had something to check.
    for must in [
        "post /v1/m 201",
        "put /v1/m/{id} 201",
        "patch /v1/m/{id} 201",
        "post /v1/m/{id} 401",
        "put /v1/m/{id} 413",
    ] {
        assert!(seen.contains(must), "{must} in {seen:?}");
    }
}

/// The schema of a parameter of an operation, by name.
fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} documents {name}"))
}

/// The document says which request ids the relay takes, so a client generating from it (as
/// Schemathesis does) is not refused with 400 for an id it was allowed to send; the relay takes
/// every id the rules allow, up to the longest.
#[tokio::test]
async fn documents_the_request_id_rules_the_relay_enforces() {
    let relay = TestRelay::start().await;
    let doc: Value =
        relay.http.get(relay.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, method) in [("/v1/m", "post"), ("/v1/m/{id}", "put"), ("/v1/m/{id}", "patch")] {
        let schema = &parameter(&doc, path, method, "Mailbox-Request-ID")["schema"];
        assert_eq!(schema["minLength"], 1, "{method} {path}: {schema}");
        assert_eq!(schema["maxLength"], 128, "{method} {path}: {schema}");
        assert_eq!(schema["pattern"], "^[!-~]+$", "{method} {path}: {schema}");
    }
    let longest: String = ('!'..='~').cycle().take(128).collect();
    let (claim, body) = (new_uuid(), create_body());
    let created =
        relay.send(Method::POST, "/v1/m", Some(&claim), Some(&longest), Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    for refused in ["", "with space", &"x".repeat(129), "caf\u{e9}"] {
        let reply = relay
            .http
            .post(relay.url("/v1/m"))
            .header(CLAIM_HEADER, new_uuid())
            .header(REQUEST_ID_HEADER, refused.as_bytes())
            .json(&create_body())
            .send()
            .await
            .unwrap();
        let reply = Reply::from(reply).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{refused:?}");
        assert_eq!(reply.code(), "invalid_request_id");
    }
}

/// The fields the relay requires to be non-empty say so, and the bounds that are the same on
/// every relay are stated.
#[tokio::test]
async fn documents_the_fixed_bounds_of_the_request_bodies() {
    let relay = TestRelay::start().await;
    let doc: Value =
        relay.http.get(relay.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("Payload", "type"),
        ("Payload", "data"),
        ("DisplayInformation", "title"),
        ("DisplayInformation", "imageURL"),
        ("NotificationToken", "type"),
        ("NotificationToken", "tokenData"),
    ] {
        let member = &schemas[schema]["properties"][field];
        assert_eq!(member["minLength"], 1, "{schema}.{field}: {member}");
    }
    let configuration = &schemas["MailboxConfiguration"]["properties"];
    assert_eq!(configuration["maxReceivers"]["minimum"], 1, "{configuration}");
    assert_eq!(configuration["maxReceivers"]["maximum"], 1000, "{configuration}");
    assert_eq!(configuration["expiration"]["format"], "date-time", "{configuration}");
}

/// The read's body is documented as optional JSON that may be `null`; the relay takes `null` as
/// it takes no body at all.
#[tokio::test]
async fn a_read_takes_a_null_body_as_no_body() {
    let relay = TestRelay::start().await;
    let doc: Value =
        relay.http.get(relay.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let body = &doc["paths"]["/v1/m/{id}"]["post"]["requestBody"];
    assert_ne!(body["required"], true, "{body}");
    let (path, _) = relay.create(json!({})).await;
    let reply = relay
        .http
        .post(relay.url(&path))
        .header(CLAIM_HEADER, new_uuid())
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    let reply = Reply::from(reply).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["role"], "receiver", "the read bound the caller");
}
