//! The names of everything the store keeps in Redis, in one leaf module: the store, its scripts'
//! callers, the router and the wake feed all name keys and channels, and none of them should
//! need another to do it. The layout itself is described in the [`super`] module comment.

use tigress_proto::MailboxId;

use crate::mailbox::{ClaimHash, RequestHash};

/// The names of one mailbox's keys, and of its wake channel. They share one hash tag, so one
/// script on one node may touch them all.
pub struct Keys {
    /// `tigress:{<id>}:box`, the mailbox's hash.
    pub mailbox: String,
    /// `tigress:{<id>}:log`, its message list.
    pub log: String,
    /// `tigress:{<id>}:req`, each claim's last de-duplicated request.
    pub requests: String,
    /// `tigress:{<id>}:ev`, its lifecycle events (docs/EVENTS.md).
    pub events: String,
    /// `tigress:{<id>}:wake`, its shard channel (not a key).
    pub wake: String,
}

/// The sorted set of mailboxes whose events the relays deliver, scored by when to look at each
/// next (docs/EVENTS.md). One hash tag of its own: every relay's delivery loop reads it.
pub const EVENTS_DUE: &str = "tigress:{events}:due";

impl Keys {
    pub fn of(id: &MailboxId) -> Self {
        let tag = hex(id.as_bytes());
        Self {
            mailbox: format!("tigress:{{{tag}}}:box"),
            log: format!("tigress:{{{tag}}}:log"),
            requests: format!("tigress:{{{tag}}}:req"),
            events: format!("tigress:{{{tag}}}:ev"),
            wake: channel_name(id),
        }
    }
}

/// The create de-duplication key of `sender`'s request: it is found before any mailbox id is
/// known, so it is tagged by the claim, not by a mailbox.
pub fn created_key(sender: &ClaimHash, request: &RequestHash) -> String {
    format!("tigress:{{{}}}:created:{}", hex(&sender.0), hex(&request.0))
}

/// The key that remembers an accepted device attestation token by its digest (never the token):
/// it is looked up before any mailbox exists, so it has a hash tag of its own. It holds the
/// create's request hash (hex), or `-` for a create without a request id.
pub fn attestation_key(digest: &[u8; 32]) -> String {
    format!("tigress:{{{}}}:attestation", hex(digest))
}

/// The name of mailbox `id`'s wake channel; it shares the hash tag of the mailbox's keys.
pub fn channel_name(id: &MailboxId) -> String {
    format!("tigress:{{{}}}:wake", hex(id.as_bytes()))
}

/// The mailbox whose wake channel is `name`, if it is one.
pub fn channel_id(name: &[u8]) -> Option<MailboxId> {
    let name = std::str::from_utf8(name).ok()?;
    parse_id(name.strip_prefix("tigress:{")?.strip_suffix("}:wake")?)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn parse_id(text: &str) -> Option<MailboxId> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(MailboxId::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_ids_round_trip_through_hex() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        assert_eq!(parse_id(&hex(id.as_bytes())), Some(id));
        assert_eq!(parse_id("zz"), None);
        assert_eq!(parse_id(&"é".repeat(16)), None);
    }

    #[test]
    fn the_keys_of_a_mailbox_share_one_hash_tag() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        let keys = Keys::of(&id);
        let tag = format!("{{{}}}", hex(id.as_bytes()));
        for key in [&keys.mailbox, &keys.log, &keys.requests, &keys.events, &keys.wake] {
            assert!(key.contains(&tag), "{key}");
        }
    }

    #[test]
    fn channel_names_round_trip_and_share_the_mailbox_hash_tag() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        let name = channel_name(&id);
        assert!(name.contains(&format!("{{{}}}", hex(id.as_bytes()))));
        assert_eq!(channel_id(name.as_bytes()), Some(id));
        assert_eq!(channel_id(b"tigress:{zz}:wake"), None);
        assert_eq!(channel_id(b"other"), None);
    }
}
