//! Interop with an independent JOSE implementation, Python's `jwcrypto` (installed, pinned, by
//! scripts/test, which names its Python in TIGRESS_JWCRYPTO_PYTHON): it opens what Tigress
//! sealed with either algorithm, Tigress opens what it sealed, and both refuse the same
//! tampered, re-addressed, moved and truncated values.

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::OsRng;
use serde_json::{Value, json};
use tigress_jwe::{Algorithm, Binding, OpenError, PrivateJwk, open, seal};

const HERE: Binding<'static> = Binding {
    share: "5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40",
    pointer: "/content/authorizationToken",
};

const SCRIPT: &str = r#"
import json, sys
from jwcrypto import jwe, jwk
job = json.load(sys.stdin)
key = jwk.JWK.from_json(job["key"])
opened = []
for token in job["open"]:
    try:
        message = jwe.JWE()
        message.deserialize(token, key=key)
        opened.append({"ok": True, "payload": message.payload.decode(), "header": message.jose_header})
    except Exception as error:
        opened.append({"ok": False, "error": type(error).__name__})
sealed = []
for alg in job["seal"]:
    header = {"alg": alg, "enc": "A256GCM", "kid": key.get("kid"),
              "tigress": {"share": job["share"], "ptr": job["ptr"]}}
    message = jwe.JWE(job["plaintext"].encode(), protected=json.dumps(header))
    message.add_recipient(jwk.JWK.from_json(key.export_public()))
    sealed.append(message.serialize(compact=True))
print(json.dumps({"opened": opened, "sealed": sealed}))
"#;

/// Runs the script on `job`; its answer.
fn jwcrypto(job: &Value) -> Value {
    let python = std::env::var("TIGRESS_JWCRYPTO_PYTHON").unwrap_or_else(|_| {
        panic!(
            "TIGRESS_JWCRYPTO_PYTHON is not set: run scripts/test, which installs jwcrypto into \
             a virtual environment and names its python, or set it to a python with jwcrypto"
        )
    });
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {python}: {e}"));
    child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "jwcrypto failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script answers JSON")
}

/// `compact` with part `index` changed by `change`.
fn altered(compact: &str, index: usize, change: impl FnOnce(Vec<u8>) -> Vec<u8>) -> String {
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    let bytes = URL_SAFE_NO_PAD.decode(&parts[index]).unwrap();
    parts[index] = URL_SAFE_NO_PAD.encode(change(bytes));
    parts.join(".")
}

fn flip_first(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[0] ^= 1;
    bytes
}

#[test]
fn jwcrypto_opens_what_tigress_sealed_and_both_refuse_the_same_bad_values() {
    let key = PrivateJwk::generate(&mut OsRng, "hotel-pms").unwrap();
    let other = PrivateJwk::generate(&mut OsRng, "hotel-pms").unwrap();
    let plaintext = "\"tok-9f2\"";
    let kw = seal(&mut OsRng, plaintext.as_bytes(), &key.public(), Algorithm::EcdhEsA256Kw, HERE);
    let direct = seal(&mut OsRng, plaintext.as_bytes(), &key.public(), Algorithm::EcdhEs, HERE);
    let moved_header = |header: Vec<u8>| {
        String::from_utf8(header).unwrap().replace("authorizationToken", "roomNumber").into_bytes()
    };
    let cases: Vec<(&str, String, bool)> = vec![
        ("ECDH-ES+A256KW", kw.clone(), true),
        ("ECDH-ES", direct.clone(), true),
        ("ciphertext altered", altered(&kw, 3, flip_first), false),
        ("wrapped key altered", altered(&kw, 1, flip_first), false),
        ("tag altered", altered(&direct, 4, flip_first), false),
        ("header rebound to another field", altered(&kw, 0, moved_header), false),
        ("truncated", kw[..kw.len() - 8].to_owned(), false),
        (
            "re-addressed: sealed for another key of the same kid",
            seal(&mut OsRng, plaintext.as_bytes(), &other.public(), Algorithm::EcdhEsA256Kw, HERE),
            false,
        ),
    ];
    let tokens: Vec<&str> = cases.iter().map(|(_, token, _)| token.as_str()).collect();
    let answer = jwcrypto(&json!({
        "key": key.to_json(), "open": tokens, "seal": ["ECDH-ES", "ECDH-ES+A256KW"],
        "share": HERE.share, "ptr": HERE.pointer, "plaintext": plaintext,
    }));
    for ((what, token, valid), theirs) in cases.iter().zip(answer["opened"].as_array().unwrap()) {
        let ours = open(token, &key, HERE);
        assert_eq!(theirs["ok"], json!(*valid), "jwcrypto on {what}: {theirs}");
        assert_eq!(ours.is_ok(), *valid, "tigress on {what}: {ours:?}");
        if *valid {
            assert_eq!(theirs["payload"], plaintext);
            assert_eq!(
                theirs["header"]["tigress"],
                json!({"share": HERE.share, "ptr": HERE.pointer})
            );
            assert_eq!(theirs["header"]["kid"], "hotel-pms");
        }
        eprintln!(
            "{what}: jwcrypto {}, tigress {}",
            theirs["ok"],
            ours.as_ref().map_or_else(|e| e.to_string(), |_| "opened".into())
        );
    }

    // Tigress opens what jwcrypto sealed, and refuses it moved to another field.
    for sealed in answer["sealed"].as_array().unwrap() {
        let sealed = sealed.as_str().unwrap();
        assert_eq!(open(sealed, &key, HERE).unwrap(), plaintext.as_bytes());
        let moved = Binding { pointer: "/content/roomNumber", ..HERE };
        assert!(matches!(open(sealed, &key, moved), Err(OpenError::OtherField(_))));
        assert!(matches!(open(sealed, &other, HERE), Err(OpenError::Tampered)));
    }
}
