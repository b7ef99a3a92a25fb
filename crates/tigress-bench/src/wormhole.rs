//! A client of the magic-wormhole mailbox server, the closest public peer of the relay, so that the
//! benchmarks can measure it as a baseline on loopback in the same run as the relay.
//!
//! The server (PyPI `magic-wormhole-mailbox-server`, started by `scripts/wormhole-mailbox`) speaks
//! JSON over one WebSocket per client. It greets with `welcome`; the client then sends `bind`
//! (appid, side), and `allocate` → `allocated` (a nameplate), `claim` → `claimed` (the nameplate's
//! mailbox), `open` (subscribes: each `add` of a phase and a hex body is broadcast as `message` to
//! both sides, the writer included), `release` → `released`, `close` (mood) → `closed`. The server
//! answers every command first with an `ack` carrying the command's `id`, and a refused one with
//! `error`.
//!
//! - [`round_trip`]: the latency from one side's `add` to the other side's `message`, the
//!   counterpart of the relay's Update → peer wake-up.
//! - [`session_rate`]: complete sessions per second, in a closed loop.
//!
//! A refusal, an unexpected message or any wait longer than [`WAIT`] is an error, never a hang.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any step waits for the server.
pub const WAIT: Duration = Duration::from_secs(10);

/// The application namespace the benchmark's nameplates live in.
const APPID: &str = "tigress.invalid/bench";

/// Every message's body: 16 bytes, hex-encoded as the protocol wants.
const BODY_HEX: &str = "000102030405060708090a0b0c0d0e0f";

/// The relay benchmark pauses 5 ms before each Update (for the waiting read to park); the same
/// pause here offers both servers the same load per session.
const ROUND_PAUSE: Duration = Duration::from_millis(5);

/// Sessions completed in a closed loop.
#[derive(Clone, Debug, Serialize)]
pub struct SessionRate {
    /// Sessions completed.
    pub sessions: u64,
    /// Wall time from the first session's start to the last one's end.
    pub seconds: f64,
    /// `sessions / seconds`.
    pub per_second: f64,
}

/// Runs `sessions` concurrent sessions (two clients on one mailbox each) of `rounds` rounds and
/// returns every round's latency: from one side's `add` to the other side's `message`. The sides
/// take turns writing.
pub async fn round_trip(
    url: &str,
    sessions: usize,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut tasks = JoinSet::new();
    for index in 0..sessions {
        let url = url.to_owned();
        tasks.spawn(async move {
            timed_session(&url, rounds).await.with_context(|| format!("session {index}"))
        });
    }
    let mut samples = Vec::with_capacity(sessions * rounds);
    // Dropping the set on an error aborts the sessions still running.
    while let Some(done) = tasks.join_next().await {
        samples.extend(done.context("a session task panicked")??);
    }
    Ok(samples)
}

/// Runs `concurrency` workers for `duration`, each running complete sessions one after another
/// (connect, meet on a nameplate, one message each way, release, close, disconnect), and counts
/// the sessions completed. Sessions under way at the end are finished and counted.
pub async fn session_rate(
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<SessionRate> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = JoinSet::new();
    for index in 0..concurrency {
        let url = url.to_owned();
        workers.spawn(async move {
            sessions_until(&url, deadline).await.with_context(|| format!("worker {index}"))
        });
    }
    let mut sessions = 0;
    while let Some(done) = workers.join_next().await {
        sessions += done.context("a worker task panicked")??;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(SessionRate { sessions, seconds, per_second: sessions as f64 / seconds })
}

/// One session of `rounds` timed rounds, A writing first.
async fn timed_session(url: &str, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let mut session = Session::start(url).await?;
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        tokio::time::sleep(ROUND_PAUSE).await;
        samples.push(session.deliver(round % 2 == 0, &round.to_string()).await?);
    }
    session.finish().await?;
    Ok(samples)
}

/// Complete sessions, one after another, until `deadline`; returns how many.
async fn sessions_until(url: &str, deadline: Instant) -> anyhow::Result<u64> {
    let mut done = 0;
    while Instant::now() < deadline {
        let session = async {
            let mut session = Session::start(url).await?;
            session.deliver(true, "0").await?;
            session.deliver(false, "1").await?;
            session.finish().await
        };
        session.await.with_context(|| format!("session {}", done + 1))?;
        done += 1;
    }
    Ok(done)
}

/// Two clients on one mailbox: A allocated and claimed a nameplate, B claimed the same, and both
/// opened its mailbox.
struct Session {
    a: Client,
    b: Client,
}

impl Session {
    async fn start(url: &str) -> anyhow::Result<Self> {
        // Two devices act independently: their steps overlap wherever the protocol allows.
        let (mut a, mut b) =
            tokio::try_join!(Client::connect(url, "A"), Client::connect(url, "B"))?;
        let nameplate = a.allocate().await?;
        let mailbox = a.claim(&nameplate).await?;
        let theirs = b.claim(&nameplate).await?;
        ensure!(
            theirs == mailbox,
            "nameplate {nameplate} gave A mailbox {mailbox} but B mailbox {theirs}"
        );
        tokio::try_join!(a.open(&mailbox), b.open(&mailbox))?;
        Ok(Self { a, b })
    }

    /// One message of `phase` from A to B (or B to A); returns the time from just before the
    /// writer's `add` to the reader's receipt of the broadcast.
    async fn deliver(&mut self, a_to_b: bool, phase: &str) -> anyhow::Result<Duration> {
        let (writer, reader) =
            if a_to_b { (&mut self.a, &mut self.b) } else { (&mut self.b, &mut self.a) };
        let sent = Instant::now();
        writer.add(phase).await?;
        reader.receive(phase).await?;
        Ok(sent.elapsed())
    }

    /// Both sides release the nameplate, close the mailbox ("happy") and disconnect.
    async fn finish(self) -> anyhow::Result<()> {
        let Self { mut a, mut b } = self;
        tokio::try_join!(a.release(), b.release())?;
        tokio::try_join!(a.close(), b.close())?;
        tokio::try_join!(a.disconnect(), b.disconnect())?;
        Ok(())
    }
}

/// One side's WebSocket connection, bound to [`APPID`] and a random side.
struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// "A" or "B", for error messages.
    label: &'static str,
    side: String,
    sent: u32,
}

impl Client {
    /// Connects, reads the `welcome` and binds.
    async fn connect(url: &str, label: &'static str) -> anyhow::Result<Self> {
        // Nagle off, as the server and the relay benchmark's HTTP client have it: small messages
        // go out at once.
        let connecting = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (socket, _) = within(async { Ok(connecting.await?) })
            .await
            .with_context(|| format!("side {label} connecting to {url}"))?;
        let side = uuid::Uuid::new_v4().simple().to_string();
        let mut client = Self { socket, label, side, sent: 0 };
        let welcome = client.expect("welcome").await?;
        // The server's operator can turn every client away with an error in the welcome.
        if let Some(error) = welcome["welcome"].get("error") {
            bail!("side {label}: the server's welcome says: {error}");
        }
        client.send("bind", json!({"appid": APPID, "side": client.side})).await?;
        Ok(client)
    }

    /// Reserves a free nameplate (which also claims it, for this side); returns it.
    async fn allocate(&mut self) -> anyhow::Result<String> {
        self.send("allocate", json!({})).await?;
        let allocated = self.expect("allocated").await?;
        self.field(&allocated, "nameplate")
    }

    /// Claims `nameplate`; returns its mailbox.
    async fn claim(&mut self, nameplate: &str) -> anyhow::Result<String> {
        self.send("claim", json!({"nameplate": nameplate})).await?;
        let claimed = self.expect("claimed").await?;
        self.field(&claimed, "mailbox")
    }

    /// Opens (subscribes to) `mailbox`, and waits for the `ack` so that the subscription is in
    /// place when this returns: `open` has no other answer.
    async fn open(&mut self, mailbox: &str) -> anyhow::Result<()> {
        let id = self.send("open", json!({"mailbox": mailbox})).await?;
        self.wait_for("the ack of open", |message| message["type"] == "ack" && message["id"] == id)
            .await?;
        Ok(())
    }

    /// Adds a message of `phase` to the mailbox, without waiting for anything.
    async fn add(&mut self, phase: &str) -> anyhow::Result<()> {
        self.send("add", json!({"phase": phase, "body": BODY_HEX})).await?;
        Ok(())
    }

    /// Waits for the other side's message, which must be of `phase`.
    async fn receive(&mut self, phase: &str) -> anyhow::Result<()> {
        let side = self.side.clone();
        let what = format!("the other side's message {phase}");
        let message = self
            .wait_for(&what, |message| message["type"] == "message" && message["side"] != *side)
            .await?;
        ensure!(
            message["phase"] == phase && message["body"] == BODY_HEX,
            "side {} expected the other side's phase {phase}, got {message}",
            self.label
        );
        Ok(())
    }

    async fn release(&mut self) -> anyhow::Result<()> {
        self.send("release", json!({})).await?;
        self.expect("released").await?;
        Ok(())
    }

    async fn close(&mut self) -> anyhow::Result<()> {
        self.send("close", json!({"mood": "happy"})).await?;
        self.expect("closed").await?;
        Ok(())
    }

    /// Ends the WebSocket with a close handshake and waits for the server to hang up, passing over
    /// what is still on the way (acks, echoes).
    async fn disconnect(mut self) -> anyhow::Result<()> {
        let closing = async {
            self.socket.close(None).await?;
            while let Some(frame) = self.socket.next().await {
                frame?;
            }
            anyhow::Ok(())
        };
        within(closing).await.with_context(|| format!("side {} disconnecting", self.label))
    }

    /// Sends command `kind` with `fields` and a fresh `id` (which the server's `ack` echoes);
    /// returns the id.
    async fn send(&mut self, kind: &str, mut fields: Value) -> anyhow::Result<String> {
        self.sent += 1;
        let id = format!("{:04x}", self.sent);
        fields["type"] = kind.into();
        fields["id"] = id.clone().into();
        let sending = self.socket.send(Message::text(fields.to_string()));
        within(async { Ok(sending.await?) })
            .await
            .with_context(|| format!("side {} sending {kind}", self.label))?;
        Ok(id)
    }

    /// Waits for a message of type `kind`.
    async fn expect(&mut self, kind: &str) -> anyhow::Result<Value> {
        self.wait_for(kind, |message| message["type"] == kind).await
    }

    /// Waits for the first message that `wanted` accepts. On the way it passes over `ack`s and the
    /// echoes of this side's own `add`s, which may come at any point; anything else is an error.
    async fn wait_for(
        &mut self,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let (label, side) = (self.label, self.side.clone());
        let waiting = async {
            loop {
                let message = self.next_message().await?;
                if wanted(&message) {
                    return Ok(message);
                }
                let own_echo = message["type"] == "message" && message["side"] == *side;
                if message["type"] != "ack" && !own_echo {
                    bail!("unexpected message {message}");
                }
            }
        };
        within(waiting).await.with_context(|| format!("side {label} waiting for {what}"))
    }

    /// The next JSON message from the server; an `error` from it is an error here.
    async fn next_message(&mut self) -> anyhow::Result<Value> {
        loop {
            let frame = self.socket.next().await.context("the server closed the connection")??;
            let text = match frame {
                Message::Text(text) => text,
                // tungstenite answers pings by itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                Message::Binary(_) => bail!("the server sent a binary frame"),
                Message::Close(reason) => bail!("the server closed the WebSocket: {reason:?}"),
            };
            let message: Value = serde_json::from_str(&text)
                .with_context(|| format!("the server sent something other than JSON: {text}"))?;
            if message["type"] == "error" {
                bail!("the server refused {}: {}", message["orig"], message["error"]);
            }
            return Ok(message);
        }
    }

    /// The string `name` of `message`.
    fn field(&self, message: &Value, name: &str) -> anyhow::Result<String> {
        message[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("side {}: no {name} in {message}", self.label))
    }
}

/// `future`, or an error once it has taken longer than [`WAIT`].
async fn within<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| Err(anyhow!("no answer within {} s", WAIT.as_secs())))
}

/// A mailbox server started by `scripts/wormhole-mailbox` on a free loopback port, with its state
/// in a directory of its own; stopped when dropped.
pub struct Server {
    /// `ws://127.0.0.1:PORT/v1`.
    pub url: String,
    dir: tempfile::TempDir,
}

impl Server {
    /// Installs the server when missing (a Python venv under `target/`) and starts it.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        // Port 0: the server takes a free port and the script prints the URL with it.
        let output = script(&dir, &["start", "0"])?;
        anyhow::ensure!(
            output.status.success(),
            "scripts/wormhole-mailbox start failed. It needs python3 (3.11 or newer) with venv \
             (apt-get install python3 python3-venv) and PyPI, to install \
             magic-wormhole-mailbox-server. It said:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = String::from_utf8(output.stdout)?.trim().to_owned();
        Ok(Self { url, dir })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match script(&self.dir, &["stop"]) {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                eprintln!(
                    "stopping the mailbox server: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            }
            Err(e) => eprintln!("stopping the mailbox server: {e}"),
        }
    }
}

/// Runs `scripts/wormhole-mailbox ARGS` with its state in `dir`.
fn script(dir: &tempfile::TempDir, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/wormhole-mailbox");
    std::process::Command::new(&path)
        .args(args)
        .env("TIGRESS_WORMHOLE_DIR", dir.path())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", path.display()))
}
