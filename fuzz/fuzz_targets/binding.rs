//! Attacks the plaintext binding member (`messageBinding`) of `tigress_proto::transfer`: the
//! fuzzer writes a plaintext, which is sealed under the conversation's own secret so that
//! `Conversation::open` and `Conversation::open_first` get past decryption to the parsing of the
//! plaintext and of its binding. Asserts nothing panics, and that a message is accepted only when
//! its binding is right, as an independent reading of the plaintext says: an object naming the
//! peer as writer, the next position, this mailbox (absent only at position 1) and the hash of the
//! previous message; or this device's own message listed as its own; or, for the first message
//! only, no binding at all. Anything else must be an error.
//!
//! The input's first byte chooses the scene (which side, which call, who the relay lists as the
//! writer, before or after the invitation); the rest is the plaintext, in which `@prev`, `@mbox`
//! and `@invite` stand for the right `prev` hash, the mailbox id and the invitation's plaintext,
//! so that the fuzzer can write a right binding as easily as a wrong one.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tigress_fuzz::{FixedRng, secret_128};
use tigress_proto::transfer::{BINDING_MEMBER, Conversation};
use tigress_proto::wire::Party;
use tigress_proto::{MailboxId, ProvisioningInformation};

const MAILBOX: &str = "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

fuzz_target!(|data: &[u8]| {
    let Some((&scene, template)) = data.split_first() else {
        return;
    };
    let me = if scene & 1 == 0 { Party::Receiver } else { Party::Sender };
    let first_call = scene & 2 != 0;
    let listed_from = if scene & 4 == 0 { me.peer() } else { me };
    let after_invitation = scene & 8 != 0;

    let mailbox: MailboxId = MAILBOX.parse().expect("a hyphenated UUID");
    let mut rng = FixedRng::new(u64::from(scene));
    let invitation =
        ProvisioningInformation::new("digitalwallet.carkey.ccc", json!({"step": "invite"}))
            .expect("valid Provisioning Information");

    // The invitation as the sender seals it, and its plaintext, binding included.
    let mut inviter = Conversation::new(Party::Sender, secret_128());
    let sealed_invitation = inviter.seal(&invitation, &mut rng);
    let invitation_plaintext = secret_128().open(&sealed_invitation).expect("the invitation opens");
    let prev = URL_SAFE_NO_PAD.encode(Sha256::digest(&invitation_plaintext));

    let mut conversation = Conversation::new(me, secret_128());
    match (me, after_invitation) {
        (Party::Sender, false) => {}
        (Party::Sender, true) => {
            conversation.seal(&invitation, &mut rng);
            conversation.set_mailbox(mailbox);
        }
        (Party::Receiver, _) => {
            conversation.set_mailbox(mailbox);
            if after_invitation {
                conversation.open(&sealed_invitation, Party::Sender).expect("the invitation");
            }
        }
    }
    let expected_seq: u64 = if after_invitation { 2 } else { 1 };

    let plaintext = substitute(template, &prev, &invitation_plaintext);
    let payload = secret_128().seal(&plaintext, &mut rng);
    let binding = binding_of(&plaintext);

    if first_call {
        let Ok((info, bound)) = conversation.open_first(&payload) else {
            return;
        };
        assert!(!info.extra.contains_key(BINDING_MEMBER), "the binding was left in");
        if bound {
            let binding = binding.expect("a bound message has a binding member");
            assert_right(&binding, me.peer(), expected_seq, &prev);
        } else {
            assert!(binding.is_none(), "a binding member was ignored");
            assert_eq!(expected_seq, 1, "an unbound message was accepted after the first");
        }
    } else {
        let Ok(opened) = conversation.open(&payload, listed_from) else {
            return;
        };
        let binding = binding.expect("an accepted message has a binding member");
        match opened {
            Some(info) => {
                assert!(!info.extra.contains_key(BINDING_MEMBER), "the binding was left in");
                assert_right(&binding, me.peer(), expected_seq, &prev);
            }
            None => {
                // Only this device's own message, listed as its own, is skipped.
                assert_eq!(listed_from, me);
                assert_eq!((me, after_invitation), (Party::Sender, true));
                assert!(plaintext == invitation_plaintext, "a message not sent was taken as ours");
            }
        }
    }
});

/// Replaces the placeholders of the fuzzer's plaintext.
fn substitute(template: &[u8], prev: &str, invitation: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len());
    let mut rest = template;
    while let Some(&byte) = rest.first() {
        let (replacement, len): (&[u8], usize) = if rest.starts_with(b"@prev") {
            (prev.as_bytes(), 5)
        } else if rest.starts_with(b"@mbox") {
            (MAILBOX.as_bytes(), 5)
        } else if rest.starts_with(b"@invite") {
            (invitation, 7)
        } else {
            (std::slice::from_ref(&byte), 1)
        };
        out.extend_from_slice(replacement);
        rest = &rest[len..];
    }
    out
}

/// The binding member as a plain JSON reading of the plaintext finds it.
fn binding_of(plaintext: &[u8]) -> Option<Value> {
    let Ok(Value::Object(mut members)) = serde_json::from_slice(plaintext) else {
        return None;
    };
    members.remove(BINDING_MEMBER)
}

/// A right binding: an object naming the peer, the next position, this mailbox (absent only at
/// position 1) and the previous message's hash (absent only at position 1). `null` counts as
/// absent, as an optional member.
fn assert_right(binding: &Value, peer: Party, seq: u64, prev: &str) {
    let Value::Object(members) = binding else {
        panic!("a binding that is not an object was accepted");
    };
    let member = |name: &str| members.get(name).filter(|v| !v.is_null());
    assert_eq!(member("from").and_then(Value::as_str), Some(peer.as_str()), "wrong writer");
    assert_eq!(member("seq").and_then(Value::as_u64), Some(seq), "wrong position");
    match member("mailbox") {
        None => assert_eq!(seq, 1, "a binding without a mailbox after the invitation"),
        Some(named) => assert_eq!(named.as_str(), Some(MAILBOX), "wrong mailbox"),
    }
    match (member("prev"), seq) {
        (None, 1) => {}
        (Some(named), 2..) => assert_eq!(named.as_str(), Some(prev), "wrong predecessor"),
        (None, _) => panic!("a binding without a predecessor after the invitation"),
        (Some(_), _) => panic!("a predecessor for the first message"),
    }
}
