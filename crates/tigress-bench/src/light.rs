//! The light load generator: HTTP/1.1 requests built before the run, sent over a few keep-alive
//! connections with one request in flight on each, answers parsed in place (`httparse`) from one
//! reused buffer per connection. Nothing is allocated per request but the latency sample, so
//! the generator's share of the two cores stays small and the server's own CPU time per request
//! (read from `/proc/PID/stat` before and after the run) is the figure that counts.
//!
//! A request may hold a [`UNIQUE`] slot, which each send overwrites in place with a value no
//! other request of the run carries (a fresh `Mailbox-Request-ID` per create).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::Latency;

/// The placeholder a request may carry once; each send writes 32 hex digits over it.
pub const UNIQUE: &str = "################################";

/// Runs so far in this process, for [`UNIQUE`] values.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// One request, ready to send.
#[derive(Clone, Debug)]
pub struct Request {
    bytes: Vec<u8>,
    /// Where [`UNIQUE`] sits in `bytes`, if anywhere.
    unique_at: Option<usize>,
}

impl Request {
    /// `method path` with `headers` and `body` (sent with its `Content-Length`).
    pub fn new(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: bench\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            head.push_str("content-type: application/json\r\n");
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        let unique_at = find(&bytes, UNIQUE.as_bytes());
        Self { bytes, unique_at }
    }

    /// The request as sent (with its [`UNIQUE`] slot, if any, as built).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// What one run sends.
pub enum Requests {
    /// Each connection goes round these until the time is up.
    Cycle(Vec<Request>),
    /// Each request is sent once (shared out among the connections); the run ends when all
    /// are answered or the time is up.
    EachOnce(Vec<Request>),
}

/// The figures of one run.
#[derive(Clone, Debug, Serialize)]
pub struct LightRun {
    /// Keep-alive connections, one request in flight on each.
    pub connections: usize,
    /// Requests answered (all with a 2xx status).
    pub requests: u64,
    /// Answered requests per second over the run.
    pub requests_per_second: f64,
    /// The server process's CPU time (user + system, all threads) over the run, per request.
    pub server_cpu_us_per_request: f64,
    /// Bytes the server process wrote (`wchar`: files and sockets alike) over the run, per
    /// request.
    pub server_written_bytes_per_request: f64,
    /// Write calls the server process made over the run, per request.
    pub server_writes_per_request: f64,
    /// The generator's (this process's) CPU time over the run, per request.
    pub generator_cpu_us_per_request: f64,
    /// Per-request latency.
    pub latency: Latency,
}

/// An answered request: its status and the answer's body.
pub struct Answer<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

/// Runs `requests` against `addr` over `connections` connections for at most `duration`,
/// reading the CPU time of the server process `pid`.
pub async fn drive(
    addr: SocketAddr,
    pid: u32,
    requests: Requests,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<LightRun> {
    drive_collecting(addr, pid, requests, connections, duration, false).await.map(|(run, _)| run)
}

/// [`drive`], also answering each answer's body when `collect` (in the order of the
/// [`Requests::EachOnce`] list; for setting up the next run, not while measuring).
pub async fn drive_collecting(
    addr: SocketAddr,
    pid: u32,
    requests: Requests,
    connections: usize,
    duration: Duration,
    collect: bool,
) -> anyhow::Result<(LightRun, Vec<Vec<u8>>)> {
    ensure!(connections > 0, "no connections");
    let (list, once) = match requests {
        Requests::Cycle(list) => (list, false),
        Requests::EachOnce(list) => (list, true),
    };
    ensure!(!list.is_empty(), "no requests to send");
    let list = Arc::new(list);
    let next = Arc::new(AtomicUsize::new(0));
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await.context("connecting to the server")?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }

    let server_before = cpu_micros(pid)?;
    let io_before = written(pid)?;
    let generator_before = cpu_micros(std::process::id())?;
    let started = Instant::now();
    let deadline = started + duration;
    // Unique values differ between runs too: a create that repeated an earlier run's request id
    // would be answered as a replay.
    let run = RUNS.fetch_add(1, Ordering::Relaxed) as u64;
    let mut tasks = Vec::with_capacity(connections);
    for (index, stream) in streams.into_iter().enumerate() {
        let index = (run << 32) | index as u64;
        let (list, next) = (Arc::clone(&list), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            connection(stream, index, &list, once.then_some(&*next), deadline, collect).await
        }));
    }
    let mut samples = Vec::new();
    let mut bodies = vec![Vec::new(); if collect && once { list.len() } else { 0 }];
    for task in tasks {
        let done = task.await.context("a generator connection failed")??;
        samples.extend(done.samples);
        for (position, body) in done.bodies {
            // Each-once answers go where their request was; cycled ones in arrival order.
            if once {
                bodies[position] = body;
            } else {
                bodies.push(body);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let server = cpu_micros(pid)?.saturating_sub(server_before);
    let io_after = written(pid)?;
    let generator = cpu_micros(std::process::id())?.saturating_sub(generator_before);
    let requests = samples.len() as u64;
    let per = |micros: u64| micros as f64 / requests.max(1) as f64;
    let run = LightRun {
        connections,
        requests,
        requests_per_second: requests as f64 / seconds,
        server_cpu_us_per_request: per(server),
        server_written_bytes_per_request: per(io_after.0.saturating_sub(io_before.0)),
        server_writes_per_request: per(io_after.1.saturating_sub(io_before.1)),
        generator_cpu_us_per_request: per(generator),
        latency: Latency::of(samples),
    };
    Ok((run, bodies))
}

struct ConnectionDone {
    samples: Vec<Duration>,
    bodies: Vec<(usize, Vec<u8>)>,
}

async fn connection(
    mut stream: TcpStream,
    index: u64,
    list: &[Request],
    shared_next: Option<&AtomicUsize>,
    deadline: Instant,
    collect: bool,
) -> anyhow::Result<ConnectionDone> {
    let mut done = ConnectionDone { samples: Vec::with_capacity(1 << 16), bodies: Vec::new() };
    let mut buffer = Vec::with_capacity(16 * 1024);
    let mut own = list.iter().enumerate().cycle();
    let mut sent: u64 = 0;
    let mut scratch = Vec::new();
    while Instant::now() < deadline {
        let (position, request) = match shared_next {
            Some(next) => {
                let position = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = list.get(position) else { break };
                (position, request)
            }
            None => own.next().context("an empty request list")?,
        };
        let bytes: &[u8] = match request.unique_at {
            None => &request.bytes,
            Some(at) => {
                scratch.clear();
                scratch.extend_from_slice(&request.bytes);
                let slot = &mut scratch[at..at + UNIQUE.len()];
                write_hex(&mut slot[..16], index);
                write_hex(&mut slot[16..], sent);
                &scratch
            }
        };
        sent += 1;
        let started = Instant::now();
        stream.write_all(bytes).await?;
        let answer = read_answer(&mut stream, &mut buffer).await?;
        done.samples.push(started.elapsed());
        if !(200..300).contains(&answer.status) {
            bail!(
                "the server answered {} to a generated request: {}",
                answer.status,
                String::from_utf8_lossy(answer.body)
            );
        }
        if collect {
            done.bodies.push((position, answer.body.to_vec()));
        }
    }
    Ok(done)
}

/// Writes `value` as `out.len()` lowercase hex digits (the low ones), without allocating.
fn write_hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// Reads one HTTP/1.1 answer (with a `Content-Length`) into `buffer`.
pub async fn read_answer<'a>(
    stream: &mut TcpStream,
    buffer: &'a mut Vec<u8>,
) -> anyhow::Result<Answer<'a>> {
    buffer.clear();
    let (status, head, length) = loop {
        if stream.read_buf(buffer).await? == 0 {
            bail!("the server closed the connection");
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = response.parse(buffer)? {
            let length = response
                .headers
                .iter()
                .find(|header| header.name.eq_ignore_ascii_case("content-length"))
                .and_then(|header| std::str::from_utf8(header.value).ok()?.parse::<usize>().ok())
                .context("an answer without Content-Length")?;
            break (response.code.unwrap_or(0), head, length);
        }
    };
    while buffer.len() < head + length {
        if stream.read_buf(buffer).await? == 0 {
            bail!("the server closed the connection mid-answer");
        }
    }
    ensure!(buffer.len() == head + length, "more bytes than one answer");
    Ok(Answer { status, body: &buffer[head..head + length] })
}

/// Bytes written and write calls of process `pid` so far (`wchar` and `syscw` of
/// `/proc/PID/io`).
pub fn written(pid: u32) -> anyhow::Result<(u64, u64)> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io"))
        .context("reading /proc/PID/io (the write figures need Linux)")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        io.lines()
            .find_map(|line| line.strip_prefix(name))
            .context("a field missing from /proc/PID/io")?
            .trim()
            .parse()
            .context("a number in /proc/PID/io")
    };
    Ok((field("wchar:")?, field("syscw:")?))
}

/// User plus system CPU time of process `pid` (every thread), in microseconds.
pub fn cpu_micros(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .context("reading /proc (the CPU figures need Linux)")?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
    // plain numbers: state is field 3, utime field 14, stime field 15.
    let after = stat.rsplit_once(')').context("a malformed /proc/PID/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |field: usize| -> anyhow::Result<u64> {
        fields.get(field - 3).context("a short /proc/PID/stat")?.parse().context("a CPU field")
    };
    // Linux reports these in clock ticks of USER_HZ, 100 per second on every architecture
    // it supports today.
    Ok((ticks(14)? + ticks(15)?) * 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_its_length_and_finds_its_unique_slot() {
        let request = Request::new("POST", "/v1/m", &[("mailbox-request-id", UNIQUE)], b"{}");
        let text = String::from_utf8(request.bytes.clone()).unwrap();
        assert!(text.starts_with("POST /v1/m HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("content-length: 2\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n{}"), "{text}");
        let at = request.unique_at.expect("the slot is found");
        assert_eq!(&request.bytes[at..at + UNIQUE.len()], UNIQUE.as_bytes());
        assert_eq!(Request::new("GET", "/", &[], b"").unique_at, None);
        let mut hex = [0u8; 8];
        write_hex(&mut hex, 0xbeef);
        assert_eq!(&hex, b"0000beef");
    }

    #[tokio::test]
    async fn drives_a_real_server_and_keeps_each_answer_in_order() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        // Echoes the request's id, so that the answer can be matched with its request.
        let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
            match headers.get("x-n") {
                Some(n) => Ok(n.to_str().unwrap().to_owned()),
                None => Err(axum::http::StatusCode::BAD_REQUEST),
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let list =
            (0..50).map(|n| Request::new("GET", "/", &[("x-n", &n.to_string())], b"")).collect();
        let pid = std::process::id();
        let (run, bodies) =
            drive_collecting(addr, pid, Requests::EachOnce(list), 3, Duration::from_secs(10), true)
                .await
                .unwrap();
        assert_eq!(run.requests, 50);
        let expected: Vec<Vec<u8>> = (0..50).map(|n: i32| n.to_string().into_bytes()).collect();
        assert_eq!(bodies, expected);

        let refused = Request::new("GET", "/", &[], b"");
        let error = drive(addr, pid, Requests::Cycle(vec![refused]), 1, Duration::from_secs(5))
            .await
            .expect_err("a missing header makes the server answer 400");
        assert!(error.to_string().contains("answered 400"), "{error:#}");
    }

    #[test]
    fn reads_this_process_cpu_time() {
        let before = cpu_micros(std::process::id()).unwrap();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_micros(std::process::id()).unwrap() >= before + 20_000);
    }
}
