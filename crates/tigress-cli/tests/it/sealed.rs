//! Sealed fields from the terminal: the hotel makes a key pair, the sender seals the token for
//! it, the receiving device prints it sealed, and the hotel opens it; what each bad input gets.

use serde_json::Value;

use crate::support::{Relay, assert_exit, describe, run, run_with_stdin, stderr, stdout};

#[test]
fn a_token_sealed_for_the_hotel_is_carried_unread_and_opened_by_the_hotel() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let made = run(&["keygen", "--kid", "hotel-pms", "--out", &path("hotel.jwk")]);
    assert_exit(&made, 0);
    std::fs::write(path("hotel.pub.jwk"), stdout(&made)).unwrap();
    assert!(!stdout(&made).contains("\"d\""), "the public key carries its private half");
    let other = run(&["keygen", "--kid", "hotel-pms", "--out", &path("other.jwk")]);
    assert_exit(&other, 0);
    std::fs::write(path("room.json"), r#"{"roomNumber": "412", "authorizationToken": "tok-9f2"}"#)
        .unwrap();

    let share = |pointer: &str| {
        run(&[
            "share",
            "--relay",
            relay.base(),
            "--format",
            "digitalwallet.generic.authorizationToken",
            "--content",
            &path("room.json"),
            "--title",
            "Room 412",
            "--description",
            "Hotel key",
            "--image-url",
            "https://img.example/hotel.png",
            "--seal-field",
            &format!("{pointer}={}", path("hotel.pub.jwk")),
        ])
    };
    let shared = share("/content/authorizationToken");
    assert_exit(&shared, 0);
    let url = stdout(&shared).lines().next().unwrap().to_owned();
    let received = run(&["receive", &url, "--yes", "--json"]);
    assert_exit(&received, 0);
    let envelope = stdout(&received);
    assert!(!envelope.contains("tok-9f2"), "the receiving device read the sealed token");
    let parsed: Value = serde_json::from_str(&envelope).unwrap();
    assert_eq!(parsed["sealedFields"][0]["pointer"], "/content/authorizationToken");
    assert_eq!(parsed["sealedFields"][0]["kid"], "hotel-pms");
    assert!(stderr(&received).contains("share binding:"), "{}", describe(&received));

    let opened = run_with_stdin(&["unseal", "--key", &path("hotel.jwk")], envelope.as_bytes());
    assert_exit(&opened, 0);
    let info: Value = serde_json::from_str(&stdout(&opened)).unwrap();
    assert_eq!(info["content"]["authorizationToken"], "tok-9f2");
    assert_eq!(info["content"]["roomNumber"], "412");

    // Another key of the same kid, another share's binding, an altered value: refused (9).
    let wrong_key = run_with_stdin(&["unseal", "--key", &path("other.jwk")], envelope.as_bytes());
    assert_exit(&wrong_key, 9);
    assert!(stderr(&wrong_key).contains("altered"), "{}", describe(&wrong_key));
    let info_only = serde_json::to_string(&parsed["provisioningInformation"]).unwrap();
    let pasted = run_with_stdin(
        &["unseal", "--key", &path("hotel.jwk"), "--share", "another-share"],
        info_only.as_bytes(),
    );
    assert_exit(&pasted, 9);
    assert!(stderr(&pasted).contains("sealed for another share"), "{}", describe(&pasted));
    let sealed = parsed["provisioningInformation"]["content"]["authorizationToken"]["jwe"]
        .as_str()
        .unwrap()
        .to_owned();
    // The ciphertext's first character changed (to another, whatever it was).
    let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
    let first = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(..1, first);
    let altered = envelope.replace(&sealed, &parts.join("."));
    let tampered = run_with_stdin(&["unseal", "--key", &path("hotel.jwk")], altered.as_bytes());
    assert_exit(&tampered, 9);

    // A pointer that names nothing: a usage error, and nothing created.
    let nothing = share("/content/nothing");
    assert_exit(&nothing, 2);
    assert!(stderr(&nothing).contains("names no member"), "{}", describe(&nothing));
    let public_as_private = run_with_stdin(&["unseal", "--key", &path("hotel.pub.jwk")], b"{}");
    assert_exit(&public_as_private, 2);
}
