//! What an event says: which mailbox, what happened, when, and its place in the mailbox's
//! sequence. Nothing else: no claim, payload, token, address or display information.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One event of one mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The mailbox id, as in its URL.
    pub mailbox: String,
    /// 1 for the mailbox's first event (its creation), one more for each after: a receiver
    /// sees a gap or a repeat at once.
    pub sequence: u64,
    /// Unix seconds when it happened (for an expiry: when the mailbox expired).
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to the mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The sender created it.
    Created,
    /// A receiver's device bound itself with its first read.
    Bound,
    /// A party wrote a message; `message_seq` is its place in the mailbox's log.
    MessageWritten { by: Writer, message_seq: u64 },
    /// The receiver let go of it, so that another device may bind.
    Relinquished,
    /// A party deleted it.
    Deleted,
    /// It expired and was erased.
    Expired,
    /// A device that is not a party tried to read it (another device holds it).
    RefusedClaim,
}

/// Which party wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Writer {
    /// The device that created the mailbox.
    Sender,
    /// The device that bound to it.
    Receiver,
}

impl Writer {
    /// The name in an event and in the store.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Receiver => "receiver",
        }
    }
}

impl EventKind {
    /// The event's `type`, and its name in the store.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "mailbox.created",
            Self::Bound => "mailbox.bound",
            Self::MessageWritten { .. } => "mailbox.message_written",
            Self::Relinquished => "mailbox.relinquished",
            Self::Deleted => "mailbox.deleted",
            Self::Expired => "mailbox.expired",
            Self::RefusedClaim => "mailbox.refused_claim",
        }
    }

    /// The message's writer and place, for [`EventKind::MessageWritten`].
    pub fn message(self) -> Option<(Writer, u64)> {
        match self {
            Self::MessageWritten { by, message_seq } => Some((by, message_seq)),
            _ => None,
        }
    }

    /// The kind back from its stored parts: its [`name`](Self::name), and for a message its
    /// writer's [`Writer::name`] and its place. `None` for parts no kind has.
    pub fn from_parts(name: &str, writer: Option<&str>, message_seq: Option<u64>) -> Option<Self> {
        let simple = match name {
            "mailbox.created" => Self::Created,
            "mailbox.bound" => Self::Bound,
            "mailbox.relinquished" => Self::Relinquished,
            "mailbox.deleted" => Self::Deleted,
            "mailbox.expired" => Self::Expired,
            "mailbox.refused_claim" => Self::RefusedClaim,
            "mailbox.message_written" => {
                let by = match writer? {
                    "sender" => Writer::Sender,
                    "receiver" => Writer::Receiver,
                    _ => return None,
                };
                return Some(Self::MessageWritten { by, message_seq: message_seq? });
            }
            _ => return None,
        };
        (writer.is_none() && message_seq.is_none()).then_some(simple)
    }
}

impl Event {
    /// The `webhook-id`: the same for every attempt at this event, from any relay, so that a
    /// receiver can drop the repeats that at-least-once delivery brings.
    pub fn webhook_id(&self) -> String {
        format!("evt_{}_{}", self.mailbox, self.sequence)
    }

    /// The JSON body: `{"type", "timestamp", "data": {"mailboxId", "sequence", …}}`, with
    /// `writer` and `messageSeq` for a message (docs/EVENTS.md).
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            r#type: &'static str,
            timestamp: String,
            data: Data<'a>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Data<'a> {
            mailbox_id: &'a str,
            sequence: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            writer: Option<Writer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            message_seq: Option<u64>,
        }
        let message = self.kind.message();
        let body = Body {
            r#type: self.kind.name(),
            timestamp: rfc3339(self.at),
            data: Data {
                mailbox_id: &self.mailbox,
                sequence: self.sequence,
                writer: message.map(|(by, _)| by),
                message_seq: message.map(|(_, seq)| seq),
            },
        };
        serde_json::to_vec(&body).expect("an event serializes")
    }
}

/// Unix seconds as RFC 3339 in UTC; the epoch for a time out of range (never one the relay's
/// clock gives).
fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> [EventKind; 8] {
        [
            EventKind::Created,
            EventKind::Bound,
            EventKind::MessageWritten { by: Writer::Sender, message_seq: 2 },
            EventKind::MessageWritten { by: Writer::Receiver, message_seq: 3 },
            EventKind::Relinquished,
            EventKind::Deleted,
            EventKind::Expired,
            EventKind::RefusedClaim,
        ]
    }

    #[test]
    fn every_kind_comes_back_from_its_stored_parts() {
        for kind in every_kind() {
            let (writer, seq) = kind.message().unzip();
            assert_eq!(
                EventKind::from_parts(kind.name(), writer.map(Writer::name), seq),
                Some(kind)
            );
        }
        assert_eq!(EventKind::from_parts("mailbox.deleted", Some("sender"), None), None);
        assert_eq!(EventKind::from_parts("mailbox.message_written", Some("sender"), None), None);
        assert_eq!(EventKind::from_parts("mailbox.message_written", Some("peer"), Some(1)), None);
        assert_eq!(EventKind::from_parts("mailbox.opened", None, None), None);
    }

    #[test]
    fn the_body_says_what_happened_and_nothing_more() {
        let event = Event {
            mailbox: "6c1a1f2e-8a57-4d8e-9c1b-0f6f1e7b1a2c".into(),
            sequence: 4,
            at: 1_796_000_000,
            kind: EventKind::MessageWritten { by: Writer::Receiver, message_seq: 3 },
        };
        let body: serde_json::Value = serde_json::from_slice(&event.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "mailbox.message_written",
                "timestamp": "2026-11-30T00:53:20Z",
                "data": {
                    "mailboxId": "6c1a1f2e-8a57-4d8e-9c1b-0f6f1e7b1a2c",
                    "sequence": 4,
                    "writer": "receiver",
                    "messageSeq": 3,
                }
            })
        );
        let created = Event { kind: EventKind::Created, sequence: 1, ..event.clone() };
        let body: serde_json::Value = serde_json::from_slice(&created.body()).unwrap();
        assert_eq!(body["data"].as_object().unwrap().len(), 2, "{body}");
        assert_eq!(event.webhook_id(), "evt_6c1a1f2e-8a57-4d8e-9c1b-0f6f1e7b1a2c_4");
    }
}
