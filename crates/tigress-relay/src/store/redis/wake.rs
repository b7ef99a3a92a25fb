//! Wake-ups between relays that share a Redis Cluster, over sharded pub/sub.
//!
//! Each mailbox has a shard channel, `tigress:{<id>}:wake`, in the slot of its keys. The update
//! and delete scripts `SPUBLISH` to it in the same atomic step as their write (see
//! [`super`]), so a relay that is subscribed when the write commits hears of it, and a
//! relay that crashes after committing cannot forget to tell the others.
//!
//! A relay holds at most one subscription per mailbox, however many of its readers wait there:
//! [`RedisWakeFeed`] counts listeners per mailbox and subscribes for the first. A reader reads
//! the store only once the node has confirmed the subscription ([`WakeFeed::listen`]), so a
//! write is either in what it reads or reaches it as a message: none falls in between.
//!
//! A subscription lingers for [`LINGER`] after its last reader leaves, because in a transfer the
//! next wait on the mailbox usually follows within milliseconds.
//!
//! A dropped node connection loses its subscriptions and any message published meanwhile, so on
//! a disconnection every subscription is made again and, once each is confirmed, that mailbox's
//! readers are woken to re-read. A slot moved to another node (the node then unsubscribes its
//! channels) is handled the same way. A re-subscription that fails is retried every
//! [`RETRY`] while readers remain, and they are woken so that they re-read meanwhile.
//!
//! Every decision is taken by one task that owns the state; Redis commands run in tasks of their
//! own and report back, so a slow node delays only its own mailboxes.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::{PushInfo, PushKind, Value};
use tigress_proto::MailboxId;
use tokio::sync::{mpsc, oneshot};

use super::cluster::{Cluster, Request};
use super::keys::channel_id;
use crate::store::StoreError;
use crate::waiters::{Listening, Waiters, WakeFeed};

// Re-exported: the tests that watch a mailbox's channel name it from here.
pub use super::keys::channel_name;

/// How long a subscription outlives its last reader.
pub const LINGER: Duration = Duration::from_secs(5);
/// How often a lost subscription is retried while readers remain.
pub const RETRY: Duration = Duration::from_millis(500);

/// Cross-relay wake-ups for a [`Waiters`] registry.
pub struct RedisWakeFeed {
    commands: mpsc::UnboundedSender<Command>,
}

impl RedisWakeFeed {
    /// Connects to the cluster through any of `nodes` (`host:port`) with a pub/sub connection
    /// of its own, and wakes `waiters` on writes through any relay.
    pub async fn connect(nodes: &[String], waiters: Weak<Waiters>) -> Result<Self, StoreError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let pushes = commands.downgrade();
        let on_push = Arc::new(move |push: PushInfo| {
            if let Some(commands) = pushes.upgrade() {
                let _ = commands.send(Command::Pushed(push));
            }
        });
        // Subscriptions write nothing, so they wait for no replica.
        let cluster = Cluster::connect(nodes, Some(on_push), 0).await?;
        let feed = Feed {
            cluster,
            channels: HashMap::new(),
            commands: commands.downgrade(),
            waiters,
            epoch: 0,
        };
        tokio::spawn(feed.run(receiver));
        Ok(Self { commands })
    }
}

impl WakeFeed for RedisWakeFeed {
    fn listen(&self, id: MailboxId) -> Listening {
        let (ack, confirmed) = oneshot::channel();
        let sent = self.commands.send(Command::Listen(id, ack));
        Box::pin(async move {
            if sent.is_err() {
                return Err(StoreError::Unavailable);
            }
            confirmed.await.unwrap_or(Err(StoreError::Unavailable))
        })
    }

    fn unlisten(&self, id: MailboxId) {
        let _ = self.commands.send(Command::Unlisten(id));
    }
}

type Ack = oneshot::Sender<Result<(), StoreError>>;

enum Command {
    Listen(MailboxId, Ack),
    Unlisten(MailboxId),
    Pushed(PushInfo),
    Subscribed(MailboxId, Result<(), StoreError>),
    Unsubscribed(MailboxId),
    Lingered(MailboxId, u64),
    Retry(MailboxId),
}

/// One mailbox's subscription, as this relay sees it.
struct Channel {
    listeners: usize,
    state: State,
}

enum State {
    /// `SSUBSCRIBE` in flight (or, after a loss, waiting for its retry). `acks` wait for it;
    /// `recovering` when messages may have been lost, so readers re-read once it is confirmed.
    Subscribing { acks: Vec<Ack>, recovering: bool },
    /// Confirmed. `idle` is the epoch of the linger timer once no reader is left.
    Subscribed { idle: Option<u64> },
    /// `SUNSUBSCRIBE` in flight; `acks` are new readers that subscribe again once it is done.
    Unsubscribing { acks: Vec<Ack> },
    /// The last `SSUBSCRIBE` failed and its readers were told; the next reader tries again.
    Failed,
}

struct Feed {
    cluster: Cluster,
    channels: HashMap<MailboxId, Channel>,
    /// Weak, so that the task ends when the [`RedisWakeFeed`] is dropped.
    commands: mpsc::WeakUnboundedSender<Command>,
    waiters: Weak<Waiters>,
    epoch: u64,
}

impl Feed {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        while let Some(command) = commands.recv().await {
            self.handle(command);
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Listen(id, ack) => self.listen(id, ack),
            Command::Unlisten(id) => self.unlisten(id),
            Command::Pushed(push) => self.pushed(push),
            Command::Subscribed(id, result) => self.subscribed(id, result),
            Command::Unsubscribed(id) => self.unsubscribed(id),
            Command::Lingered(id, epoch) => self.lingered(id, epoch),
            Command::Retry(id) => {
                if matches!(
                    self.channels.get(&id),
                    Some(Channel { state: State::Subscribing { .. }, .. })
                ) {
                    self.spawn_subscribe(id);
                }
            }
        }
    }

    fn listen(&mut self, id: MailboxId, ack: Ack) {
        let mut subscribe = false;
        let channel = self.channels.entry(id).or_insert_with(|| {
            subscribe = true;
            Channel {
                listeners: 0,
                state: State::Subscribing { acks: Vec::new(), recovering: false },
            }
        });
        channel.listeners += 1;
        match &mut channel.state {
            State::Subscribing { acks, .. } | State::Unsubscribing { acks } => acks.push(ack),
            State::Subscribed { idle } => {
                *idle = None;
                let _ = ack.send(Ok(()));
            }
            State::Failed => {
                channel.state = State::Subscribing { acks: vec![ack], recovering: false };
                subscribe = true;
            }
        }
        if subscribe {
            self.spawn_subscribe(id);
        }
    }

    fn unlisten(&mut self, id: MailboxId) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        channel.listeners = channel.listeners.saturating_sub(1);
        if channel.listeners > 0 {
            return;
        }
        // With a command in flight, its completion decides what happens next.
        match channel.state {
            State::Subscribed { .. } => self.start_linger(id),
            State::Failed => drop(self.channels.remove(&id)),
            State::Subscribing { .. } | State::Unsubscribing { .. } => {}
        }
    }

    /// A confirmed subscription that nobody waits on is kept for [`LINGER`], then dropped.
    fn start_linger(&mut self, id: MailboxId) {
        self.epoch += 1;
        let epoch = self.epoch;
        if let Some(Channel { state: State::Subscribed { idle }, .. }) = self.channels.get_mut(&id)
        {
            *idle = Some(epoch);
            self.after(LINGER, Command::Lingered(id, epoch));
        }
    }

    fn subscribed(&mut self, id: MailboxId, result: Result<(), StoreError>) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        let State::Subscribing { acks, recovering } = &mut channel.state else {
            return;
        };
        let recovering = *recovering;
        let acks = std::mem::take(acks);
        for ack in acks {
            let _ = ack.send(result.clone());
        }
        match result {
            Ok(()) => {
                channel.state = State::Subscribed { idle: None };
                let idle = channel.listeners == 0;
                if recovering {
                    self.wake(id);
                }
                if idle {
                    self.start_linger(id);
                }
            }
            Err(_) if channel.listeners == 0 => drop(self.channels.remove(&id)),
            // The readers that asked got the error and will go.
            Err(_) if !recovering => channel.state = State::Failed,
            // Readers are waiting on a subscription that was lost: they re-read now, and it is
            // made again soon.
            Err(_) => {
                self.wake(id);
                self.after(RETRY, Command::Retry(id));
            }
        }
    }

    fn lingered(&mut self, id: MailboxId, epoch: u64) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        if channel.listeners > 0
            || !matches!(channel.state, State::Subscribed { idle: Some(e) } if e == epoch)
        {
            return;
        }
        channel.state = State::Unsubscribing { acks: Vec::new() };
        let cluster = self.cluster.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            // A failure leaves nothing to undo: the subscription died with its connection.
            let _ = shard_command(&cluster, "SUNSUBSCRIBE", &id).await;
            if let Some(commands) = commands.upgrade() {
                let _ = commands.send(Command::Unsubscribed(id));
            }
        });
    }

    fn unsubscribed(&mut self, id: MailboxId) {
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        let State::Unsubscribing { acks } = &mut channel.state else {
            return;
        };
        if channel.listeners == 0 {
            self.channels.remove(&id);
            return;
        }
        let acks = std::mem::take(acks);
        channel.state = State::Subscribing { acks, recovering: false };
        self.spawn_subscribe(id);
    }

    fn pushed(&mut self, push: PushInfo) {
        match push.kind {
            PushKind::SMessage => {
                if let Some(id) = push.data.first().and_then(bytes).and_then(channel_id) {
                    self.wake(id);
                }
            }
            // Some node connection closed: its subscriptions, and messages, may be lost.
            PushKind::Disconnection => {
                let lost: Vec<MailboxId> = self
                    .channels
                    .iter()
                    .filter(|(_, channel)| matches!(channel.state, State::Subscribed { .. }))
                    .map(|(id, _)| *id)
                    .collect();
                if !lost.is_empty() {
                    tracing::warn!(
                        subscriptions = lost.len(),
                        "a Redis node connection closed; subscribing again"
                    );
                }
                for id in lost {
                    self.recover(id);
                }
            }
            // The node dropped the subscription itself (its slot moved), or confirms our own
            // unsubscribe: only a subscription we still hold needs making again.
            PushKind::SUnsubscribe => {
                if let Some(id) = push.data.first().and_then(bytes).and_then(channel_id) {
                    if matches!(
                        self.channels.get(&id),
                        Some(Channel { state: State::Subscribed { .. }, .. })
                    ) {
                        self.recover(id);
                    }
                }
            }
            _ => {}
        }
    }

    /// Makes a lost subscription again, waking its readers once it is confirmed.
    fn recover(&mut self, id: MailboxId) {
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.state = State::Subscribing { acks: Vec::new(), recovering: true };
            self.spawn_subscribe(id);
        }
    }

    fn spawn_subscribe(&self, id: MailboxId) {
        let cluster = self.cluster.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let result = shard_command(&cluster, "SSUBSCRIBE", &id).await;
            if let Some(commands) = commands.upgrade() {
                let _ = commands.send(Command::Subscribed(id, result));
            }
        });
    }

    fn after(&self, delay: Duration, command: Command) {
        let commands = self.commands.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(commands) = commands.upgrade() {
                let _ = commands.send(command);
            }
        });
    }

    fn wake(&self, id: MailboxId) {
        if let Some(waiters) = self.waiters.upgrade() {
            waiters.wake(id);
        }
    }
}

/// `SSUBSCRIBE` or `SUNSUBSCRIBE` of mailbox `id`'s channel, on the node that owns it.
async fn shard_command(cluster: &Cluster, command: &str, id: &MailboxId) -> Result<(), StoreError> {
    let channel = channel_name(id);
    let request = Request::Command(redis::cmd(command).arg(&channel).clone());
    cluster.run::<Value>(&channel, &request).await.map(drop)
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}
