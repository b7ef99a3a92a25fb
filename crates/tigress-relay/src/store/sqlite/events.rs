//! The outbox of lifecycle events (docs/EVENTS.md): a mailbox's change and its event are
//! written in one commit, so an event is never lost to a crash nor sent for a change that was
//! not made; the event stays after its mailbox is erased, until delivered or given up.

use rusqlite::{Connection, params};
use tigress_proto::MailboxId;
use tigress_proto::wire::Party;
use tigress_webhooks::{Event, EventKind, Writer};

use super::{CorruptRow, backend};
use crate::store::{EventKey, PendingEvent, StoreError};

/// Records `kind` for mailbox `id` (which has an endpoint), taking the mailbox's next event
/// sequence number. Due at once.
pub(super) fn record(
    conn: &Connection,
    id: &MailboxId,
    kind: EventKind,
    now: i64,
) -> Result<(), StoreError> {
    let (writer, message_seq) = kind.message().unzip();
    conn.prepare_cached(
        "INSERT INTO events (endpoint, mailbox_id, sequence, kind, writer, message_seq, at,
         recorded_at, next_attempt)
         SELECT event_endpoint, id, event_seq + 1, ?2, ?3, ?4, ?5, ?5, ?5 FROM mailboxes
         WHERE id = ?1 AND event_endpoint IS NOT NULL",
    )
    .map_err(backend)?
    .execute(params![&id.as_bytes()[..], kind.name(), writer.map(|w| w.name()), message_seq, now])
    .map_err(backend)?;
    conn.prepare_cached(
        "UPDATE mailboxes SET event_seq = event_seq + 1
         WHERE id = ?1 AND event_endpoint IS NOT NULL",
    )
    .map_err(backend)?
    .execute(params![&id.as_bytes()[..]])
    .map_err(backend)?;
    Ok(())
}

/// The event of message `seq` written by `party`.
pub(super) fn message_written(party: Party, seq: u64) -> EventKind {
    let by = match party {
        Party::Sender => Writer::Sender,
        Party::Receiver => Writer::Receiver,
    };
    EventKind::MessageWritten { by, message_seq: seq }
}

/// Records the expiry of every mailbox with an endpoint expired at `now`, before the sweep
/// erases them; dated when each expired.
pub(super) fn record_expired(conn: &Connection, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (endpoint, mailbox_id, sequence, kind, at, recorded_at, next_attempt)
         SELECT event_endpoint, id, event_seq + 1, ?2, expires_at, ?1, ?1 FROM mailboxes
         WHERE expires_at <= ?1 AND event_endpoint IS NOT NULL ORDER BY expires_at, id",
    )
    .map_err(backend)?
    .execute(params![now, EventKind::Expired.name()])
    .map_err(backend)?;
    Ok(())
}

/// Of each mailbox, its oldest event, when it is due; oldest first.
pub(super) fn due(
    conn: &Connection,
    now: i64,
    limit: usize,
) -> Result<Vec<PendingEvent>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT e.id, e.endpoint, e.mailbox_id, e.sequence, e.kind, e.writer, e.message_seq,
             e.at, e.recorded_at, e.failures FROM events e
             WHERE e.next_attempt <= ?1
             AND NOT EXISTS (SELECT 1 FROM events p WHERE p.mailbox_id = e.mailbox_id AND p.id < e.id)
             ORDER BY e.id LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![now, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, u64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<u64>>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, u32>(9)?,
            ))
        })
        .map_err(backend)?;
    rows.map(|row| {
        let (
            _row,
            endpoint,
            mailbox,
            sequence,
            kind,
            writer,
            message_seq,
            at,
            recorded_at,
            failures,
        ) = row.map_err(backend)?;
        let mailbox: [u8; 16] =
            mailbox.try_into().map_err(|_| backend(CorruptRow("event mailbox id")))?;
        let kind = EventKind::from_parts(&kind, writer.as_deref(), message_seq)
            .ok_or_else(|| backend(CorruptRow("event kind")))?;
        let id = MailboxId::from_bytes(mailbox);
        let key = EventKey { mailbox: id, sequence };
        let event = Event { mailbox: id.to_string(), sequence, at, kind };
        Ok(PendingEvent { key, endpoint, event, recorded_at, failures })
    })
    .collect()
}

/// Removes a delivered or abandoned event.
pub(super) fn remove(conn: &Connection, key: EventKey) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM events WHERE mailbox_id = ?1 AND sequence = ?2")
        .map_err(backend)?
        .execute(params![&key.mailbox.as_bytes()[..], key.sequence])
        .map_err(backend)?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub(super) fn retry_at(
    conn: &Connection,
    key: EventKey,
    failures: u32,
    next_attempt: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE events SET failures = ?3, next_attempt = ?4
         WHERE mailbox_id = ?1 AND sequence = ?2",
    )
    .map_err(backend)?
    .execute(params![&key.mailbox.as_bytes()[..], key.sequence, failures, next_attempt])
    .map_err(backend)?;
    Ok(())
}
